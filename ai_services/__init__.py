"""The AI services of the Looma fleet, one package each."""
