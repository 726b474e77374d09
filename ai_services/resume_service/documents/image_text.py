"""Photos and scans of résumés (PNG, JPEG): OCR when Tesseract is installed, a clear error when not.

Pillow reads only the header before `load()`, so the pixel count is checked before any pixel is
decoded: a small PNG can declare 50,000 × 50,000 pixels and take gigabytes to unpack. Phone
photos carry their rotation in EXIF; it is applied so Tesseract sees upright text.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from PIL import Image, ImageOps, UnidentifiedImageError

from ai_services.resume_service.documents import ocr
from ai_services.resume_service.documents.errors import OCR_MISSING, CorruptFile, FileTooLarge, NoTextFound
from ai_services.resume_service.documents.limits import Deadline, Limits


@dataclass
class ImageText:
    text: str
    warnings: list[str] = field(default_factory=list)


def read_image(data: bytes, limits: Limits, deadline: Deadline) -> ImageText:
    if not ocr.available():
        raise NoTextFound(f"the file is an image and {OCR_MISSING}")
    try:
        with Image.open(io.BytesIO(data)) as image:
            pixels = image.width * image.height
            if pixels > limits.max_image_pixels:
                raise FileTooLarge(pixels, limits.max_image_pixels, unit="pixels")
            image.load()
            upright = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise CorruptFile("image", f"Pillow cannot decode it ({error})") from None
    result = ocr.read_image(upright, deadline, "OCR of the image")
    if not result.text.strip():
        raise NoTextFound("OCR found no text in the image")
    return ImageText(result.text, result.warnings)
