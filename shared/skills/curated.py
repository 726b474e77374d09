"""The curated bilingual layer: the skills recruiters ask for most, with their Chinese and English names.

The build (scripts/build_skills_taxonomy.py) merges this over the ESCO and O*NET sources: a source
skill whose name is a curated alias joins the curated skill, and a curated alias always wins a key
that a source skill also claims. Nothing here is read at run time; the packaged
taxonomy.json.gz already holds it.

Each entry is `_skill(id, name, category, en, zh, ...)` with "|"-separated aliases:

- `en`: Latin-script forms (English names, product names, abbreviations);
- `zh`: Chinese forms; the first one written only in Chinese characters is the Chinese name,
  unless `name_zh` says otherwise ("" when the Chinese forms are descriptions, not names);
- `implies`: ids a holder of the skill also has (transitive: spring-boot -> spring -> java);
- `related`: ids often wanted together or instead (kept symmetric by the build);
- `lookup`: forms recognised in a skill field (`lookup`) but never extracted from free text,
  because in running text they are usually something else ("Communication", "Tax").

Roles such as 产品经理 are not skills: they are in ROLES, pointing at the skills they call for.
Spoken languages are skills of kind "language".
"""

from __future__ import annotations

from dataclasses import dataclass

# The categories a skill may carry: the area a recruiter would file it under.
CATEGORIES = (
    "programming language", "framework", "frontend", "backend", "mobile", "database", "big data",
    "cloud", "devops", "operating system", "data/ML", "testing", "security", "networking", "embedded",
    "software development", "methodology", "management", "design", "office", "business software",
    "domain", "soft skill", "language", "digital skill", "software",
)


@dataclass(frozen=True)
class CuratedSkill:
    id: str
    name: str
    category: str
    en: tuple[str, ...]
    zh: tuple[str, ...]
    implies: tuple[str, ...]
    related: tuple[str, ...]
    lookup: tuple[str, ...]
    kind: str
    name_zh: str | None


@dataclass(frozen=True)
class CuratedRole:
    id: str
    name: str
    en: tuple[str, ...]
    zh: tuple[str, ...]
    skills: tuple[str, ...]


@dataclass(frozen=True)
class AliasGuard:
    """How an ambiguous alias must be written, and whether it needs a skill context, to be extracted.

    `plain`: written forms (case as given) taken anywhere. `cued`: written forms taken only next to
    another skill in a list, after a cue such as 熟悉 or "proficient in", or before 语言, 开发,
    "programming"...; "*" stands for any writing. A form in neither is never extracted.
    """

    plain: tuple[str, ...] = ()
    cued: tuple[str, ...] = ()


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split("|") if part.strip())


def _skill(id: str, name: str, category: str, en: str = "", zh: str = "", *, implies: str = "",
           related: str = "", lookup: str = "", kind: str = "skill", name_zh: str | None = None) -> CuratedSkill:
    """`name_zh` defaults to the first alias in `zh` written only in Chinese; "" when none is a name."""
    if name_zh is None:
        name_zh = next((form for form in _split(zh) if not any(char.isascii() for char in form)), "")
    return CuratedSkill(id, name, category, _split(en), _split(zh), _split(implies), _split(related),
                        _split(lookup), kind, name_zh or None)


def _role(id: str, name: str, en: str, zh: str, skills: str) -> CuratedRole:
    return CuratedRole(id, name, _split(en), _split(zh), _split(skills))


LANG, FRONT, BACK, DB, BIG, CLOUD, OPS = ("programming language", "frontend", "backend", "database",
                                          "big data", "cloud", "devops")
ML, MOBILE, TEST, SEC, NET, DEV = "data/ML", "mobile", "testing", "security", "networking", "software development"
MGMT, DESIGN, OFFICE, BIZSW, DOMAIN, SOFT = ("management", "design", "office", "business software", "domain",
                                             "soft skill")

SKILLS: tuple[CuratedSkill, ...] = (
    # Programming languages.
    _skill("java", "Java", LANG, "Java|Oracle Java|Sun Microsystems Java|Java SE|Core Java|J2SE|JDK|Java programming",
           "Java开发|Java语言|Java编程|Java程序设计", related="kotlin|scala|jvm|spring"),
    _skill("python", "Python", LANG, "Python|Python3|Python 3|Python2|CPython|Python programming",
           "Python开发|Python语言|Python编程", related="django|flask|pandas"),
    _skill("go", "Go", LANG, "Go|Golang|Go lang|Go language|Go programming", "Go语言|Go开发|Golang开发",
           related="gin|microservices"),
    _skill("c", "C", LANG, "C|ANSI C|C language|C programming|C programming language|"
           "American National Standards Institute ANSI C",
           "C语言|C语言开发|C语言编程", related="cpp|embedded-systems"),
    _skill("cpp", "C++", LANG, "C++|CPP|C plus plus|Visual C++|MSVC++|Modern C++", "C++开发|C++语言|C++编程",
           related="c"),
    _skill("csharp", "C#", LANG, "C#|C Sharp|CSharp|Visual C#|Microsoft Visual C# .NET", "C#开发|C#语言",
           related="dotnet"),
    _skill("javascript", "JavaScript", LANG, "JavaScript|JS|ECMAScript|ES6|ES2015|Vanilla JS|Javascript programming",
           "JavaScript开发|JS开发|原生JS|Java脚本", related="typescript|frontend"),
    _skill("typescript", "TypeScript", LANG, "TypeScript|TS", "TypeScript开发", implies="javascript"),
    _skill("php", "PHP", LANG, "PHP|Hypertext preprocessor PHP|Hypertext Preprocessor", "PHP开发|PHP语言",
           related="laravel"),
    _skill("ruby", "Ruby", LANG, "Ruby", "Ruby开发|Ruby语言", related="rails"),
    _skill("rust", "Rust", LANG, "Rust|Rust programming language|Rustlang", "Rust语言|Rust开发"),
    _skill("kotlin", "Kotlin", LANG, "Kotlin", "Kotlin开发", related="java|android"),
    _skill("swift", "Swift", LANG, "Swift|Swift programming", "Swift语言|Swift开发", related="ios|objective-c"),
    _skill("objective-c", "Objective-C", LANG, "Objective-C|Objective C|ObjC|Obj-C", related="ios|swift"),
    _skill("scala", "Scala", LANG, "Scala", "Scala语言", related="java|spark"),
    _skill("r", "R", LANG, "R|R language|R programming|R programming language", "R语言",
           related="statistics|data-analysis"),
    _skill("matlab", "MATLAB", LANG, "MATLAB|The MathWorks MATLAB|Matlab programming", "Matlab编程|MATLAB仿真"),
    _skill("perl", "Perl", LANG, "Perl", "Perl脚本"),
    _skill("shell-scripting", "Shell scripting", LANG,
           "Shell|Shell script|Shell scripting|Shell scripts|Bash|Bash scripting|UNIX Shell|Linux shell",
           "Shell脚本|Shell编程|脚本编程", related="linux"),
    _skill("sql", "SQL", LANG, "SQL|Structured query language SQL|Structured query language|"
           "Structure query language SQL|SQL queries",
           "SQL语句|SQL语言|SQL查询|SQL编程", related="database"),
    _skill("lua", "Lua", LANG, "Lua", "Lua脚本"),
    _skill("dart", "Dart", LANG, "Dart", "Dart语言", related="flutter"),
    _skill("haskell", "Haskell", LANG, "Haskell"),
    _skill("erlang", "Erlang", LANG, "Erlang"),
    _skill("elixir", "Elixir", LANG, "Elixir"),
    _skill("groovy", "Groovy", LANG, "Groovy|Apache Groovy", implies="java"),
    _skill("julia", "Julia", LANG, "Julia|Julia language"),
    _skill("vba", "VBA", LANG, "VBA|Visual Basic for Applications|Excel VBA|"
           "Microsoft Visual Basic for Applications VBA",
           "Excel宏", related="excel"),
    _skill("assembly", "Assembly language", LANG, "Assembly language|Assembly|Assembler|ASM", "汇编|汇编语言"),
    _skill("solidity", "Solidity", LANG, "Solidity", related="blockchain"),
    _skill("html", "HTML", FRONT, "HTML|HTML5|Hypertext markup language HTML|H5", "HTML5开发|H5开发|H5页面",
           related="css|frontend"),
    _skill("css", "CSS", FRONT, "CSS|CSS3|Cascading style sheets|Cascading style sheets CSS", "层叠样式表",
           related="html|frontend"),
    _skill("sass", "Sass", FRONT, "Sass|SCSS|Syntactically awesome style sheets SASS|Syntactically Awesome Stylesheets",
           implies="css"),
    _skill("less", "Less", FRONT, "Less|LESS|Less CSS", implies="css"),

    # Frontend.
    _skill("frontend", "Frontend development", FRONT,
           "Frontend|Front-end|Front end|Frontend development|Front-end development|Front end development|Web frontend",
           "前端|前端开发|Web前端|前端技术|前端工程化|web前端开发", related="backend|html|css|javascript"),
    _skill("react", "React", FRONT, "React|React.js|ReactJS|React JS|React Hooks", "React开发|React框架",
           implies="javascript|frontend", related="vue|angular|redux"),
    _skill("vue", "Vue.js", FRONT, "Vue|Vue.js|VueJS|Vue2|Vue3|Vue 2|Vue 3|Vuex|Pinia", "Vue开发|Vue框架",
           implies="javascript|frontend", related="react|angular"),
    _skill("angular", "Angular", FRONT, "Angular|AngularJS|Angular.js|Google Angular|Angular 2", "Angular框架",
           implies="typescript|frontend", related="react|vue"),
    _skill("nextjs", "Next.js", FRONT, "Next.js|NextJS|Next JS", implies="react"),
    _skill("nuxt", "Nuxt", FRONT, "Nuxt|Nuxt.js|NuxtJS", implies="vue"),
    _skill("jquery", "jQuery", FRONT, "jQuery|JQuery", implies="javascript"),
    _skill("webpack", "webpack", FRONT, "webpack|Webpack", related="vite|frontend"),
    _skill("vite", "Vite", FRONT, "Vite", related="webpack"),
    _skill("redux", "Redux", FRONT, "Redux", implies="react"),
    _skill("tailwind-css", "Tailwind CSS", FRONT, "Tailwind|Tailwind CSS|TailwindCSS", implies="css"),
    _skill("bootstrap", "Bootstrap", FRONT, "Bootstrap|Twitter Bootstrap", implies="css"),
    _skill("ajax", "AJAX", FRONT, "AJAX|Ajax", implies="javascript"),
    _skill("echarts", "ECharts", FRONT, "ECharts|Apache ECharts", related="data-visualization"),
    _skill("element-ui", "Element UI", FRONT, "Element UI|ElementUI|Element Plus|Element-UI", implies="vue"),
    _skill("ant-design", "Ant Design", FRONT, "Ant Design|antd|AntD", implies="react"),
    _skill("svelte", "Svelte", FRONT, "Svelte|SvelteKit", implies="javascript"),
    _skill("mini-program", "WeChat Mini Program", MOBILE,
           "WeChat Mini Program|WeChat Mini Programs|Mini Program|Mini-program|WeChat applet",
           "小程序|微信小程序|小程序开发|微信小程序开发", related="uniapp|frontend"),
    _skill("uniapp", "uni-app", MOBILE, "uni-app|UniApp|uniapp", implies="vue", related="mini-program"),

    # Backend.
    _skill("backend", "Backend development", BACK,
           "Backend|Back-end|Back end|Backend development|Back-end development|Server-side development|Server-side",
           "后端|后端开发|服务端|服务端开发|服务器端开发|后台开发|后端技术", related="frontend|microservices"),
    _skill("spring", "Spring", BACK, "Spring|Spring Framework|Spring framework", "Spring框架",
           implies="java", related="spring-boot"),
    _skill("spring-boot", "Spring Boot", BACK, "Spring Boot|SpringBoot|Spring-Boot", "SpringBoot框架",
           implies="spring|java|backend", related="spring-cloud|mybatis"),
    _skill("spring-cloud", "Spring Cloud", BACK, "Spring Cloud|SpringCloud|Spring Cloud Alibaba",
           implies="spring-boot|microservices"),
    _skill("spring-mvc", "Spring MVC", BACK, "Spring MVC|SpringMVC", implies="spring"),
    _skill("mybatis", "MyBatis", BACK, "MyBatis|MyBatis-Plus|MyBatis Plus|MybatisPlus|iBatis", implies="java|sql"),
    _skill("hibernate", "Hibernate", BACK, "Hibernate|Hibernate ORM", implies="java"),
    _skill("django", "Django", BACK, "Django|Django REST framework|DRF", "Django框架", implies="python|backend"),
    _skill("flask", "Flask", BACK, "Flask", "Flask框架", implies="python|backend"),
    _skill("fastapi", "FastAPI", BACK, "FastAPI", implies="python|backend"),
    _skill("express", "Express", BACK, "Express|Express.js|ExpressJS", implies="nodejs"),
    _skill("nestjs", "NestJS", BACK, "NestJS|Nest.js", implies="nodejs|typescript"),
    _skill("nodejs", "Node.js", BACK, "Node.js|NodeJS|Node|Node JS", "Node开发|Node.js开发",
           implies="javascript|backend"),
    _skill("laravel", "Laravel", BACK, "Laravel", implies="php"),
    _skill("rails", "Ruby on Rails", BACK, "Ruby on Rails|Rails|RoR", implies="ruby|backend"),
    _skill("gin", "Gin", BACK, "Gin|Gin framework", "Gin框架", implies="go|backend"),
    _skill("dotnet", ".NET", "framework", ".NET|.NET Framework|.NET Core|DotNet|Microsoft .NET Framework|.NET 6",
           ".NET开发", related="csharp|aspnet"),
    _skill("aspnet", "ASP.NET", BACK, "ASP.NET|ASP.NET Core|ASP.NET MVC|Microsoft ASP.NET|Microsoft ASP.NET Core MVC",
           implies="dotnet|backend"),
    _skill("dubbo", "Dubbo", BACK, "Dubbo|Apache Dubbo", implies="java|microservices"),
    _skill("netty", "Netty", BACK, "Netty", implies="java"),
    _skill("grpc", "gRPC", BACK, "gRPC|Protobuf|Protocol Buffers", related="microservices"),
    _skill("graphql", "GraphQL", BACK, "GraphQL", related="rest-api"),
    _skill("rest-api", "REST APIs", BACK, "REST|RESTful|RESTful API|REST API|REST APIs|RESTful APIs|RESTful services",
           "RESTful接口|接口设计|API设计", related="backend"),
    _skill("microservices", "Microservices", BACK,
           "Microservices|Microservice|Microservice architecture|Microservices architecture|Micro-services",
           "微服务|微服务架构", implies="distributed-systems"),
    _skill("distributed-systems", "Distributed systems", BACK,
           "Distributed systems|Distributed system|Distributed computing|Distributed architecture",
           "分布式|分布式系统|分布式架构|分布式开发|分布式计算", related="high-concurrency|microservices"),
    _skill("high-concurrency", "High-concurrency systems", BACK,
           "High concurrency|High-concurrency|High-concurrency systems|High traffic systems",
           "高并发|高并发系统|高并发架构|高可用", related="distributed-systems|performance-tuning"),
    _skill("message-queue", "Message queues", BACK, "Message queue|Message queues|MQ|Message broker",
           "消息队列|消息中间件", related="kafka|rabbitmq|rocketmq"),
    _skill("kafka", "Kafka", BACK, "Kafka|Apache Kafka", implies="message-queue", related="big-data"),
    _skill("rabbitmq", "RabbitMQ", BACK, "RabbitMQ", implies="message-queue"),
    _skill("rocketmq", "RocketMQ", BACK, "RocketMQ|Apache RocketMQ", implies="message-queue"),
    _skill("nginx", "Nginx", OPS, "Nginx|NGINX|Nginx web server", related="linux"),
    _skill("tomcat", "Tomcat", BACK, "Tomcat|Apache Tomcat", related="java"),
    _skill("jvm", "JVM", BACK, "JVM|Java virtual machine|JVM tuning", "Java虚拟机|JVM调优", implies="java"),
    _skill("multithreading", "Concurrent programming", DEV,
           "Multithreading|Multi-threading|Concurrent programming|Concurrency programming",
           "多线程|并发编程|多线程编程|多线程开发", related="high-concurrency"),
    _skill("design-patterns", "Design patterns", DEV, "Design patterns|Design pattern|Software design patterns",
           "设计模式", related="oop"),
    _skill("oop", "Object-oriented programming", DEV,
           "Object-oriented programming|Object oriented programming|OOP|Object-oriented design|"
           "Object-oriented modelling",
           "面向对象|面向对象编程|面向对象设计", related="design-patterns"),
    _skill("data-structures", "Data structures", DEV, "Data structures|Data structure", "数据结构",
           related="algorithms"),
    _skill("algorithms", "Algorithms", DEV, "Algorithms|Algorithm|Algorithm design|Algorithmic", "算法|算法设计|数据结构与算法",
           related="data-structures"),
    _skill("software-architecture", "Software architecture", DEV,
           "Software architecture|System architecture|System design|Architecture design|Systems architecture",
           "架构设计|系统架构|系统设计|软件架构|系统架构设计", related="microservices|distributed-systems"),
    _skill("performance-tuning", "Performance tuning", DEV,
           "Performance tuning|Performance optimization|Performance optimisation", "性能优化|性能调优",
           related="high-concurrency"),
    _skill("zookeeper", "ZooKeeper", BACK, "ZooKeeper|Apache ZooKeeper", related="distributed-systems"),

    # Databases.
    _skill("database", "Databases", DB,
           "Database|Databases|Database design|Relational databases|Relational database|RDBMS|Database development",
           "数据库|关系型数据库|数据库设计|数据库开发|关系数据库", related="sql"),
    _skill("mysql", "MySQL", DB, "MySQL|MySQL Enterprise Edition", "MySQL数据库", implies="sql|database",
           related="postgresql|mariadb"),
    _skill("postgresql", "PostgreSQL", DB, "PostgreSQL|Postgres|Postgre|PgSQL|Postgre SQL", "PostgreSQL数据库",
           implies="sql|database", related="mysql"),
    _skill("oracle-database", "Oracle Database", DB, "Oracle Database|Oracle DB|Oracle|Oracle RDBMS", "Oracle数据库",
           implies="sql|database"),
    _skill("sql-server", "SQL Server", DB, "SQL Server|Microsoft SQL Server|MS SQL Server|MSSQL|MS SQL",
           "SQL Server数据库", implies="sql|database"),
    _skill("sqlite", "SQLite", DB, "SQLite", implies="sql|database"),
    _skill("mariadb", "MariaDB", DB, "MariaDB", implies="sql|database", related="mysql"),
    _skill("mongodb", "MongoDB", DB, "MongoDB|Mongo DB|Mongo", implies="nosql"),
    _skill("redis", "Redis", DB, "Redis|Redis cache|Redis Cluster", "Redis缓存", implies="nosql",
           related="memcached"),
    _skill("elasticsearch", "Elasticsearch", DB, "Elasticsearch|Elastic Search|ES|ELK|ELK Stack|Elastic Stack",
           "ES搜索", related="search-engines"),
    _skill("nosql", "NoSQL", DB, "NoSQL|NoSQL databases", "非关系型数据库|NoSQL数据库", implies="database"),
    _skill("cassandra", "Cassandra", DB, "Cassandra|Apache Cassandra", implies="nosql"),
    _skill("hbase", "HBase", DB, "HBase|Apache HBase", implies="nosql|big-data"),
    _skill("clickhouse", "ClickHouse", DB, "ClickHouse", implies="database", related="data-warehouse"),
    _skill("neo4j", "Neo4j", DB, "Neo4j|Cypher", "图数据库", related="knowledge-graph", name_zh=""),
    _skill("memcached", "Memcached", DB, "Memcached|Memcache", related="redis"),
    _skill("dynamodb", "DynamoDB", DB, "DynamoDB|Amazon DynamoDB", implies="nosql|aws"),
    _skill("tidb", "TiDB", DB, "TiDB", implies="database"),
    _skill("search-engines", "Search engines", BACK, "Search engine development|Full-text search|Lucene|Apache Solr|"
           "Solr",
           "搜索引擎|全文检索|搜索算法", related="elasticsearch"),

    # Big data.
    _skill("big-data", "Big data", BIG, "Big data|Big data technologies|Big data development",
           "大数据|大数据开发|大数据技术|大数据平台|海量数据", related="hadoop|spark|flink"),
    _skill("hadoop", "Hadoop", BIG, "Hadoop|Apache Hadoop|HDFS|Hadoop ecosystem|MapReduce", "Hadoop生态",
           implies="big-data", related="spark|hive"),
    _skill("spark", "Spark", BIG, "Spark|Apache Spark|PySpark|Spark SQL|Spark Streaming", implies="big-data",
           related="hadoop|flink|scala"),
    _skill("flink", "Flink", BIG, "Flink|Apache Flink", "实时计算", implies="big-data", name_zh="", related="spark|kafka"),
    _skill("hive", "Hive", BIG, "Hive|Apache Hive|HiveQL|Hive SQL", implies="big-data|sql", related="hadoop"),
    _skill("data-warehouse", "Data warehousing", BIG, "Data warehouse|Data warehousing|Data warehouse modelling",
           "数据仓库|数仓|数据仓库建设|数仓建模|数据建模", related="etl|hive"),
    _skill("etl", "ETL", BIG, "ETL|Extract transform load|ETL development|Data pipelines|Data pipeline",
           "ETL开发|数据管道|数据清洗", related="data-warehouse|airflow"),
    _skill("airflow", "Airflow", BIG, "Airflow|Apache Airflow", related="etl"),
    _skill("data-governance", "Data governance", BIG, "Data governance|Data quality management", "数据治理|数据质量"),

    # Cloud.
    _skill("cloud-computing", "Cloud computing", CLOUD, "Cloud computing|Cloud technologies|Cloud platforms|"
           "Cloud services",
           "云计算|云平台|云服务", lookup="Cloud"),
    _skill("aws", "Amazon Web Services", CLOUD, "AWS|Amazon Web Services|Amazon Web Services AWS software|Amazon AWS",
           "亚马逊云|亚马逊云服务", implies="cloud-computing", related="azure|gcp"),
    _skill("azure", "Microsoft Azure", CLOUD, "Azure|Microsoft Azure|Microsoft Azure software|Azure cloud", "微软云",
           implies="cloud-computing", related="aws|gcp"),
    _skill("gcp", "Google Cloud", CLOUD, "GCP|Google Cloud|Google Cloud Platform|Google Cloud software", "谷歌云",
           implies="cloud-computing", related="aws|azure"),
    _skill("alibaba-cloud", "Alibaba Cloud", CLOUD, "Alibaba Cloud|Aliyun", "阿里云", implies="cloud-computing"),
    _skill("tencent-cloud", "Tencent Cloud", CLOUD, "Tencent Cloud", "腾讯云", implies="cloud-computing"),
    _skill("huawei-cloud", "Huawei Cloud", CLOUD, "Huawei Cloud", "华为云", implies="cloud-computing"),
    _skill("cloud-native", "Cloud native", CLOUD, "Cloud native|Cloud-native|CNCF", "云原生",
           related="kubernetes|microservices"),
    _skill("serverless", "Serverless", CLOUD, "Serverless|Serverless computing|FaaS", "无服务器",
           implies="cloud-computing"),
    _skill("openstack", "OpenStack", CLOUD, "OpenStack", implies="cloud-computing"),

    # DevOps and operating systems.
    _skill("devops", "DevOps", OPS, "DevOps|Dev Ops", "运维开发", related="ci-cd|it-operations"),
    _skill("docker", "Docker", OPS, "Docker|Docker Compose|Dockerfile", "Docker容器", implies="containerization",
           related="kubernetes"),
    _skill("kubernetes", "Kubernetes", OPS, "Kubernetes|K8s|K8S|Kube|Kubernetes cluster", "容器编排",
           implies="containerization|docker", name_zh="", related="cloud-native|helm"),
    _skill("containerization", "Containers", OPS, "Containerization|Containerisation|Container technology|"
           "Containerized",
           "容器化|容器技术|容器", lookup="Containers|Container"),
    _skill("linux", "Linux", "operating system", "Linux|GNU/Linux|Linux administration|Linux system administration",
           "Linux系统|Linux操作系统|Linux运维", related="shell-scripting|unix"),
    _skill("unix", "UNIX", "operating system", "UNIX|Unix", "Unix系统", related="linux"),
    _skill("windows", "Windows", "operating system", "Windows|Microsoft Windows|Windows Server", "Windows系统"),
    _skill("macos", "macOS", "operating system", "macOS|Mac OS|Mac OS X|OS X|Apple macOS"),
    _skill("git", "Git", OPS, "Git|Git version control", "Git版本控制", implies="version-control",
           related="github"),
    _skill("version-control", "Version control", OPS, "Version control|Source control|Revision control|"
           "Version control systems",
           "版本控制|版本管理|代码管理", related="git"),
    _skill("jenkins", "Jenkins", OPS, "Jenkins|Jenkins CI", implies="ci-cd"),
    _skill("ci-cd", "CI/CD", OPS, "CI/CD|CI-CD|CICD|Continuous integration|Continuous delivery|Continuous deployment",
           "持续集成|持续交付|持续部署|持续集成与交付", related="devops|jenkins"),
    _skill("ansible", "Ansible", OPS, "Ansible|Ansible software", related="devops"),
    _skill("terraform", "Terraform", OPS, "Terraform|IBM Terraform|HashiCorp Terraform|Infrastructure as code|IaC",
           "基础设施即代码", related="cloud-computing|devops", name_zh=""),
    _skill("prometheus", "Prometheus", OPS, "Prometheus", related="grafana|monitoring"),
    _skill("grafana", "Grafana", OPS, "Grafana", related="prometheus|monitoring"),
    _skill("monitoring", "Monitoring", OPS, "System monitoring|Observability|Application monitoring|APM",
           "监控系统|系统监控|监控告警|可观测性", related="prometheus|grafana", lookup="Monitoring"),
    _skill("it-operations", "IT operations", OPS,
           "IT operations|Operations and maintenance|System administration|Systems administration|O&M",
           "运维|系统运维|运维管理|IT运维|运维自动化", related="linux|devops"),
    _skill("sre", "Site reliability engineering", OPS, "SRE|Site reliability engineering|Site reliability",
           related="it-operations|devops"),
    _skill("maven", "Maven", OPS, "Maven|Apache Maven", implies="java", related="gradle"),
    _skill("gradle", "Gradle", OPS, "Gradle", related="maven"),
    _skill("helm", "Helm", OPS, "Helm|Helm charts", implies="kubernetes"),
    _skill("visual-studio", "Visual Studio", DEV, "Visual Studio|Microsoft Visual Studio|MS Visual Studio",
           related="csharp|dotnet"),
    _skill("vscode", "Visual Studio Code", DEV, "Visual Studio Code|VS Code|VSCode"),
    _skill("intellij-idea", "IntelliJ IDEA", DEV, "IntelliJ IDEA|IntelliJ|JetBrains IntelliJ IDEA|IntelliJ Idea",
           related="java"),
    _skill("eclipse", "Eclipse IDE", DEV, "Eclipse IDE|Eclipse", related="java"),

    # Data and machine learning.
    _skill("artificial-intelligence", "Artificial intelligence", ML, "Artificial intelligence|AI", "人工智能|AI算法",
           related="machine-learning"),
    _skill("machine-learning", "Machine learning", ML, "Machine learning|ML|Machine-learning|"
           "Machine learning algorithms",
           "机器学习|机器学习算法", implies="artificial-intelligence", related="deep-learning|data-science"),
    _skill("deep-learning", "Deep learning", ML, "Deep learning|DL|Deep neural networks|Neural networks|Neural network",
           "深度学习|深度学习算法|神经网络", implies="machine-learning", related="pytorch|tensorflow"),
    _skill("nlp", "Natural language processing", ML, "Natural language processing|NLP|Natural-language processing",
           "自然语言处理|NLP算法|文本挖掘", implies="artificial-intelligence", related="llm"),
    _skill("computer-vision", "Computer vision", ML, "Computer vision|CV|Machine vision",
           "计算机视觉|机器视觉|CV算法|视觉算法|图像识别", implies="artificial-intelligence",
           related="opencv|image-processing"),
    _skill("llm", "Large language models", ML, "Large language models|Large language model|LLM|LLMs|Generative AI|"
           "GenAI|AIGC",
           "大模型|大语言模型|大模型应用|生成式AI", implies="deep-learning|nlp"),
    _skill("data-analysis", "Data analysis", ML, "Data analysis|Data analytics|Data analyses|Analysing data|"
           "Analyzing data",
           "数据分析|数据统计分析|数据统计", related="sql|excel|statistics"),
    _skill("data-mining", "Data mining", ML, "Data mining", "数据挖掘", related="machine-learning"),
    _skill("data-science", "Data science", ML, "Data science", "数据科学", related="machine-learning|data-analysis"),
    _skill("statistics", "Statistics", ML, "Statistics|Statistical analysis|Statistical modelling|Statistical modeling",
           "统计学|统计分析|数理统计|统计建模", related="data-analysis|r"),
    _skill("data-visualization", "Data visualisation", ML, "Data visualization|Data visualisation|Dashboards",
           "数据可视化|可视化|数据大屏", related="tableau|power-bi|echarts"),
    _skill("tensorflow", "TensorFlow", ML, "TensorFlow|TF2", implies="deep-learning|python", related="pytorch|keras"),
    _skill("pytorch", "PyTorch", ML, "PyTorch|Torch", implies="deep-learning|machine-learning|python",
           related="tensorflow"),
    _skill("keras", "Keras", ML, "Keras", implies="deep-learning|python", related="tensorflow"),
    _skill("scikit-learn", "scikit-learn", ML, "scikit-learn|sklearn|Scikit learn|scikitlearn",
           implies="machine-learning|python"),
    _skill("pandas", "pandas", ML, "pandas|Pandas", implies="python|data-analysis", related="numpy"),
    _skill("numpy", "NumPy", ML, "NumPy|Numpy", implies="python", related="pandas"),
    _skill("opencv", "OpenCV", ML, "OpenCV", implies="computer-vision"),
    _skill("xgboost", "XGBoost", ML, "XGBoost|LightGBM|GBDT", implies="machine-learning"),
    _skill("recommender-systems", "Recommender systems", ML,
           "Recommender systems|Recommendation systems|Recommender system|Recommendation algorithms",
           "推荐系统|推荐算法|个性化推荐", implies="machine-learning"),
    _skill("reinforcement-learning", "Reinforcement learning", ML, "Reinforcement learning", "强化学习",
           implies="machine-learning"),
    _skill("knowledge-graph", "Knowledge graphs", ML, "Knowledge graph|Knowledge graphs", "知识图谱",
           related="nlp|neo4j"),
    _skill("image-processing", "Image processing", ML, "Image processing|Digital image processing", "图像处理|数字图像处理",
           related="computer-vision|opencv"),
    _skill("speech-recognition", "Speech recognition", ML, "Speech recognition|ASR|Automatic speech recognition",
           "语音识别", implies="artificial-intelligence"),
    _skill("feature-engineering", "Feature engineering", ML, "Feature engineering", "特征工程",
           implies="machine-learning"),
    _skill("ab-testing", "A/B testing", ML, "A/B testing|AB testing|A/B tests|Split testing", "A/B测试|AB测试|AB实验",
           related="data-analysis"),
    _skill("tableau", "Tableau", ML, "Tableau|Tableau Desktop", implies="data-visualization"),
    _skill("power-bi", "Power BI", ML, "Power BI|Microsoft Power BI|PowerBI", implies="data-visualization"),
    _skill("spss", "SPSS", ML, "SPSS|IBM SPSS Statistics|IBM SPSS", implies="statistics"),
    _skill("sas", "SAS", ML, "SAS|SAS programming", implies="statistics"),
    _skill("business-intelligence", "Business intelligence", ML, "Business intelligence|BI|BI tools", "商业智能|BI分析",
           related="data-visualization|data-warehouse"),
    _skill("cuda", "CUDA", ML, "CUDA|GPU programming", "GPU编程", related="deep-learning"),

    # Mobile.
    _skill("mobile-development", "Mobile development", MOBILE,
           "Mobile development|Mobile app development|Mobile application development|App development",
           "移动开发|移动端开发|App开发|移动应用开发|客户端开发"),
    _skill("android", "Android", MOBILE, "Android|Google Android|Android development|Android SDK", "Android开发|安卓|安卓开发",
           implies="mobile-development", related="kotlin|java"),
    _skill("ios", "iOS", MOBILE, "iOS|Apple iOS|iOS development|iOS SDK", "iOS开发|苹果开发",
           implies="mobile-development", related="swift|objective-c"),
    _skill("react-native", "React Native", MOBILE, "React Native|React-Native", implies="react|mobile-development"),
    _skill("flutter", "Flutter", MOBILE, "Flutter", "Flutter开发", implies="dart|mobile-development"),

    # Testing, security, networking, embedded.
    _skill("software-testing", "Software testing", TEST,
           "Software testing|Quality assurance|QA|Functional testing|Test cases|Manual testing",
           "软件测试|测试|测试用例|功能测试|质量保障|黑盒测试|白盒测试", lookup="Testing"),
    _skill("test-automation", "Test automation", TEST, "Test automation|Automated testing|Automation testing",
           "自动化测试|测试自动化", implies="software-testing", related="selenium"),
    _skill("selenium", "Selenium", TEST, "Selenium|Selenium WebDriver", implies="test-automation"),
    _skill("junit", "JUnit", TEST, "JUnit", implies="java|unit-testing"),
    _skill("unit-testing", "Unit testing", TEST, "Unit testing|Unit tests|Unit test", "单元测试",
           implies="software-testing"),
    _skill("performance-testing", "Performance testing", TEST, "Performance testing|Load testing|Stress testing",
           "性能测试|压力测试|压测", implies="software-testing", related="jmeter"),
    _skill("jmeter", "JMeter", TEST, "JMeter|Apache JMeter", implies="performance-testing"),
    _skill("cyber-security", "Cybersecurity", SEC,
           "Cybersecurity|Cyber security|Information security|Network security|InfoSec|IT security",
           "网络安全|信息安全|安全防护|安全运维", related="penetration-testing"),
    _skill("penetration-testing", "Penetration testing", SEC, "Penetration testing|Pen testing|Pentest|Pentesting",
           "渗透测试", implies="cyber-security"),
    _skill("cryptography", "Cryptography", SEC, "Cryptography|Encryption", "密码学|加密算法", related="cyber-security"),
    _skill("computer-networks", "Computer networking", NET, "Computer networks|Computer networking|Network protocols",
           "计算机网络|网络协议|网络编程", lookup="Networking"),
    _skill("tcp-ip", "TCP/IP", NET, "TCP/IP|TCP|TCP/IP protocol|UDP", "TCP/IP协议|TCP协议",
           implies="computer-networks"),
    _skill("http", "HTTP", NET, "HTTP|HTTP protocol|HTTP/HTTPS|HTTP/2", "HTTP协议", implies="computer-networks",
           lookup="HTTPS"),
    _skill("embedded-systems", "Embedded systems", "embedded",
           "Embedded systems|Embedded development|Embedded software|Embedded programming|Embedded Linux",
           "嵌入式|嵌入式开发|嵌入式系统|嵌入式软件|嵌入式软件开发", related="c|microcontrollers"),
    _skill("microcontrollers", "Microcontrollers", "embedded", "Microcontrollers|Microcontroller|MCU|STM32",
           "单片机|单片机开发", implies="embedded-systems"),
    _skill("fpga", "FPGA", "embedded", "FPGA|FPGA development", "FPGA开发", related="embedded-systems"),

    # Design.
    _skill("ui-design", "UI design", DESIGN, "UI design|User interface design|UI|UI/UX|UI/UX design", "UI设计|界面设计",
           related="ux-design|figma"),
    _skill("ux-design", "UX design", DESIGN,
           "UX design|User experience design|User experience|UX|Interaction design|UX research",
           "用户体验|交互设计|用户体验设计|用户研究", related="ui-design|prototyping"),
    _skill("graphic-design", "Graphic design", DESIGN, "Graphic design|Visual design|Graphic designing", "平面设计|视觉设计",
           related="photoshop|illustrator"),
    _skill("photoshop", "Photoshop", DESIGN, "Photoshop|Adobe Photoshop|PS", related="graphic-design"),
    _skill("illustrator", "Adobe Illustrator", DESIGN, "Adobe Illustrator|Illustrator", related="graphic-design"),
    _skill("figma", "Figma", DESIGN, "Figma", related="ui-design|sketch"),
    _skill("sketch", "Sketch", DESIGN, "Sketch|Sketch app", related="figma|ui-design"),
    _skill("axure", "Axure", DESIGN, "Axure|Axure RP", implies="prototyping"),
    _skill("prototyping", "Prototyping", DESIGN, "Prototyping|Prototype design|Wireframing|Wireframes",
           "原型设计|原型图|产品原型", related="axure|ux-design"),
    _skill("after-effects", "After Effects", DESIGN, "After Effects|Adobe After Effects|AE", related="premiere"),
    _skill("premiere", "Premiere Pro", DESIGN, "Premiere Pro|Adobe Premiere Pro|Adobe Premiere|Premiere",
           implies="video-editing"),
    _skill("video-editing", "Video editing", DESIGN, "Video editing|Video production", "视频剪辑|剪辑|视频制作",
           related="premiere|after-effects"),
    _skill("cad", "CAD", DESIGN, "CAD|Computer aided design|Computer-aided design|Computer aided design CAD software",
           "计算机辅助设计|CAD制图|制图", related="autocad"),
    _skill("autocad", "AutoCAD", DESIGN, "AutoCAD|Autodesk AutoCAD", implies="cad"),
    _skill("3d-modeling", "3D modelling", DESIGN, "3D modeling|3D modelling|3D modeling software", "3D建模|三维建模|建模",
           related="c4d"),
    _skill("c4d", "Cinema 4D", DESIGN, "Cinema 4D|C4D|Maxon Cinema 4D", implies="3d-modeling"),

    # Office software.
    _skill("microsoft-office", "Microsoft Office", OFFICE,
           "Microsoft Office|MS Office|Office|Office suite|Microsoft Office software|Microsoft 365|Office 365",
           "办公软件|Office办公软件|办公自动化", related="excel|powerpoint|word"),
    _skill("excel", "Excel", OFFICE, "Excel|Microsoft Excel|MS Excel|Excel spreadsheets", "Excel表格|电子表格",
           related="microsoft-office|data-analysis|vba", name_zh=""),
    _skill("powerpoint", "PowerPoint", OFFICE, "PowerPoint|PPT|Microsoft PowerPoint|MS PowerPoint|"
           "PowerPoint presentations",
           "幻灯片|PPT制作", related="microsoft-office", name_zh=""),
    _skill("word", "Microsoft Word", OFFICE, "Microsoft Word|MS Word|Word", "Word文档", related="microsoft-office"),
    _skill("outlook", "Microsoft Outlook", OFFICE, "Microsoft Outlook|Outlook|MS Outlook", related="microsoft-office"),
    _skill("wps", "WPS Office", OFFICE, "WPS|WPS Office", "金山办公", related="microsoft-office", name_zh=""),
    _skill("visio", "Visio", OFFICE, "Visio|Microsoft Visio", related="microsoft-office"),

    # Ways of working and management.
    _skill("agile", "Agile", "methodology",
           "Agile|Agile development|Agile methodology|Agile software development|Agile methods", "敏捷开发|敏捷|敏捷项目管理",
           related="scrum|kanban"),
    _skill("scrum", "Scrum", "methodology", "Scrum|Scrum Master", implies="agile"),
    _skill("kanban", "Kanban", "methodology", "Kanban", "看板", related="agile"),
    _skill("jira", "Jira", "methodology", "Jira|JIRA|Atlassian JIRA|Atlassian Jira", related="agile|confluence"),
    _skill("confluence", "Confluence", "methodology", "Confluence|Atlassian Confluence", related="jira"),
    _skill("project-management", "Project management", MGMT,
           "Project management|Project planning|Project managing|Program management", "项目管理|项目管控|项目统筹|项目规划",
           related="agile|pmp"),
    _skill("pmp", "PMP", MGMT, "PMP|Project Management Professional|PMP certification", "PMP认证",
           implies="project-management"),
    _skill("product-management", "Product management", MGMT,
           "Product management|Product planning|Product strategy|Product roadmap", "产品管理|产品规划|产品策划",
           related="requirements-analysis|prototyping"),
    _skill("requirements-analysis", "Requirements analysis", MGMT,
           "Requirements analysis|Requirement analysis|Requirements gathering|Requirements engineering|"
           "Business analysis",
           "需求分析|需求调研|需求管理|业务分析", related="product-management"),
    _skill("team-management", "Team management", MGMT, "Team management|People management|Team leadership|"
           "Team building",
           "团队管理|团队建设|带团队|人员管理", related="leadership"),

    # Business domains.
    _skill("accounting", "Accounting", DOMAIN, "Accounting|Financial accounting|Bookkeeping|Accountancy",
           "会计|财务|财务会计|做账|记账|会计核算|账务处理", related="financial-analysis|taxation|auditing"),
    _skill("finance", "Finance", DOMAIN, "Finance|Corporate finance|Financial services", "金融|金融知识|公司金融",
           related="financial-analysis"),
    _skill("financial-analysis", "Financial analysis", DOMAIN,
           "Financial analysis|Financial modelling|Financial modeling|Financial reporting",
           "财务分析|财务建模|财务报表|财务报表分析", related="accounting|finance"),
    _skill("auditing", "Auditing", DOMAIN, "Auditing|Internal audit|External audit|Audit", "审计|内部审计|内审",
           related="accounting"),
    _skill("taxation", "Taxation", DOMAIN, "Taxation|Tax accounting|Tax planning", "税务|税务筹划|纳税申报",
           related="accounting", lookup="Tax"),
    _skill("sales", "Sales", DOMAIN, "Sales|B2B sales|Selling|Sales skills|Direct sales",
           "销售|销售技巧|大客户销售|电话销售|销售管理", related="business-development|account-management"),
    _skill("marketing", "Marketing", DOMAIN, "Marketing|Marketing strategy|Brand marketing", "市场营销|营销|市场推广|品牌营销|品牌推广",
           related="digital-marketing|sales"),
    _skill("digital-marketing", "Digital marketing", DOMAIN,
           "Digital marketing|Online marketing|Internet marketing|Social media marketing",
           "数字营销|网络营销|新媒体营销|社交媒体营销", implies="marketing", related="seo|sem"),
    _skill("seo", "SEO", DOMAIN, "SEO|Search engine optimization|Search engine optimisation", "搜索引擎优化",
           implies="digital-marketing"),
    _skill("sem", "SEM", DOMAIN, "SEM|Search engine marketing|Paid search|Pay-per-click|PPC", "搜索引擎营销|竞价推广",
           implies="digital-marketing"),
    _skill("e-commerce", "E-commerce", DOMAIN, "E-commerce|Ecommerce|Online retail|E-commerce systems", "电商|电子商务|电商运营",
           related="operations"),
    _skill("operations", "Operations", DOMAIN,
           "User operations|Content operations|Product operations|Community operations|Growth operations",
           "运营|用户运营|内容运营|产品运营|活动运营|新媒体运营|社群运营", related="user-growth", lookup="Operations"),
    _skill("user-growth", "User growth", DOMAIN, "User growth|Growth hacking|Growth marketing|User acquisition",
           "用户增长|增长黑客|拉新", related="operations|digital-marketing"),
    _skill("customer-service", "Customer service", DOMAIN, "Customer service|Customer support|Client service",
           "客服|客户服务|售后服务|售后支持"),
    _skill("business-development", "Business development", DOMAIN, "Business development|BD|Partnerships",
           "商务拓展|商务合作|渠道拓展|市场拓展|渠道管理", related="sales"),
    _skill("account-management", "Account management", DOMAIN, "Account management|Key account management|KAM",
           "客户管理|大客户管理|客户维护", related="sales|crm"),
    _skill("crm", "CRM", BIZSW, "CRM|Customer relationship management|CRM systems", "客户关系管理|CRM系统",
           related="salesforce|account-management"),
    _skill("erp", "ERP", BIZSW, "ERP|Enterprise resource planning|ERP systems", "企业资源计划|ERP系统", related="sap"),
    _skill("sap", "SAP", BIZSW, "SAP|SAP ERP|SAP software|SAP R/3|SAP R3", implies="erp"),
    _skill("salesforce", "Salesforce", BIZSW, "Salesforce|Salesforce software|Salesforce CRM|Salesforce.com",
           implies="crm"),
    _skill("recruiting", "Recruiting", DOMAIN,
           "Recruiting|Recruitment|Talent acquisition|Headhunting|Candidate sourcing|Technical recruiting",
           "招聘|人才招聘|招聘管理|猎头|人才寻访|校园招聘|社会招聘", related="human-resources"),
    _skill("human-resources", "Human resources", DOMAIN,
           "Human resources|HR|HR management|Human resource management|HRM",
           "人力资源|人力资源管理|人事|人事管理|人力资源管理师", related="recruiting|compensation-benefits"),
    _skill("compensation-benefits", "Compensation and benefits", DOMAIN, "Compensation and benefits|C&B|Payroll|"
           "Compensation",
           "薪酬|薪酬福利|薪酬管理|薪资核算|社保公积金", related="human-resources|performance-management"),
    _skill("performance-management", "Performance management", DOMAIN, "Performance management|Performance appraisal|"
           "KPI|OKR",
           "绩效管理|绩效考核|薪酬绩效", related="human-resources"),
    _skill("employee-relations", "Employee relations", DOMAIN, "Employee relations|Labour relations|Labor relations",
           "员工关系|劳动关系", related="human-resources"),
    _skill("learning-development", "Training and development", DOMAIN,
           "Training and development|Learning and development|L&D|Corporate training", "培训与发展|员工培训|培训管理|培训体系",
           related="human-resources"),
    _skill("supply-chain", "Supply chain management", DOMAIN, "Supply chain management|Supply chain|SCM",
           "供应链|供应链管理", related="procurement|logistics"),
    _skill("procurement", "Procurement", DOMAIN, "Procurement|Purchasing|Strategic sourcing", "采购|采购管理|供应商管理",
           related="supply-chain"),
    _skill("logistics", "Logistics", DOMAIN, "Logistics|Logistics management|Warehousing", "物流|物流管理|仓储|仓储管理",
           related="supply-chain"),
    _skill("legal", "Legal affairs", DOMAIN, "Legal affairs|Contract law|Corporate law|Legal advice", "法务|法律事务|合同管理|"
           "合同审核",
           related="compliance"),
    _skill("compliance", "Compliance", DOMAIN, "Compliance|Regulatory compliance", "合规|合规管理", related="legal"),
    _skill("risk-management", "Risk management", DOMAIN, "Risk management|Risk control|Risk assessment", "风控|风险控制|"
           "风险管理|风控模型",
           related="compliance"),
    _skill("payments", "Payment systems", DOMAIN, "Payment systems|Payments|Payment processing", "支付|支付系统|支付业务"),
    _skill("copywriting", "Copywriting", DOMAIN, "Copywriting|Content writing", "文案|文案策划|文案撰写|内容创作",
           related="marketing"),
    _skill("game-development", "Game development", DEV, "Game development|Game programming|Game design", "游戏开发|游戏设计|"
           "游戏策划",
           related="unity|unreal-engine"),
    _skill("unity", "Unity", DEV, "Unity|Unity3D|Unity 3D|Unity Technologies Unity|Unity engine", "Unity开发",
           related="game-development|csharp"),
    _skill("unreal-engine", "Unreal Engine", DEV, "Unreal Engine|UE4|UE5|Unreal Technology Unreal Engine", "虚幻引擎",
           related="game-development|cpp"),
    _skill("blockchain", "Blockchain", DEV, "Blockchain|Blockchain technology|Smart contracts|Web3", "区块链|智能合约",
           related="solidity|cryptography"),

    # Soft skills.
    _skill("communication", "Communication", SOFT,
           "Communication skills|Verbal communication|Written communication|Interpersonal skills|"
           "Communication and coordination",
           "沟通能力|沟通|沟通协调|沟通协调能力|表达能力|跨部门沟通|沟通技巧|语言表达能力|人际交往",
           related="teamwork|coordination", lookup="Communication"),
    _skill("teamwork", "Teamwork", SOFT, "Teamwork|Team player|Team collaboration|Team work|"
           "Cross-functional collaboration",
           "团队合作|团队协作|团队精神|团队合作精神|合作精神|协作能力|跨部门协作", related="communication",
           lookup="Collaboration"),
    _skill("leadership", "Leadership", SOFT, "Leadership|Leadership skills", "领导力|领导能力", related="team-management"),
    _skill("problem-solving", "Problem solving", SOFT, "Problem solving|Problem-solving|Problem-solving skills",
           "解决问题|解决问题能力|问题解决|问题解决能力|分析和解决问题"),
    _skill("learning-ability", "Learning ability", SOFT, "Learning ability|Fast learner|Quick learner|Self-learning|"
           "Self-taught",
           "学习能力|自学能力|快速学习|学习能力强"),
    _skill("stress-tolerance", "Working under pressure", SOFT,
           "Working under pressure|Stress tolerance|Stress management|Resilience|Ability to work under pressure",
           "抗压能力|抗压|承压能力|抗压能力强"),
    _skill("time-management", "Time management", SOFT, "Time management|Prioritisation|Prioritization", "时间管理"),
    _skill("presentation-skills", "Presentation skills", SOFT, "Presentation skills|Public speaking|Presenting",
           "演讲|演讲能力|公众演讲|汇报能力"),
    _skill("critical-thinking", "Analytical thinking", SOFT,
           "Critical thinking|Analytical thinking|Analytical skills|Logical thinking", "逻辑思维|逻辑思维能力|分析能力|批判性思维|逻辑能力"),
    _skill("responsibility", "Sense of responsibility", SOFT, "Sense of responsibility|Accountability|Ownership",
           "责任心|责任感|责任心强"),
    _skill("self-motivation", "Self-motivation", SOFT, "Self-motivated|Self-motivation|Proactive|Self-driven",
           "主动性|积极主动|自驱力|自我驱动"),
    _skill("attention-to-detail", "Attention to detail", SOFT, "Attention to detail|Detail-oriented|Detail oriented",
           "细心|注重细节|认真细致|细致"),
    _skill("creativity", "Creativity", SOFT, "Creativity|Creative thinking|Innovation", "创造力|创新能力|创新思维|创意"),
    _skill("coordination", "Coordination", SOFT, "Coordination|Organisational skills|Organizational skills",
           "协调能力|组织协调|组织协调能力|组织能力", related="communication"),
    _skill("adaptability", "Adaptability", SOFT, "Adaptability|Flexibility|Adaptable", "适应能力|适应力|应变能力"),
    _skill("negotiation", "Negotiation", SOFT, "Negotiation|Negotiation skills|Business negotiation", "谈判|商务谈判|谈判能力",
           related="sales|business-development"),

    # Spoken languages: kind "language", so that matching can weigh them apart from technologies.
    _skill("english", "English", "language",
           "English|English language|Business English|Fluent English|CET-4|CET-6|CET4|CET6|IELTS|TOEFL|TOEIC|BEC",
           "英语|英文|商务英语|英语四级|英语六级|大学英语四级|大学英语六级|雅思|托福|英语口语|英语听说读写", kind="language"),
    _skill("chinese", "Chinese (Mandarin)", "language", "Chinese|Mandarin|Mandarin Chinese|Putonghua|Standard Chinese",
           "普通话|中文|汉语|国语|普通话二甲|普通话一乙", kind="language"),
    _skill("cantonese", "Cantonese", "language", "Cantonese", "粤语|广东话", kind="language"),
    _skill("japanese", "Japanese", "language", "Japanese|JLPT|JLPT N1|JLPT N2|Business Japanese", "日语|日文|日语N1|日语N2|"
           "日语一级|日语二级|商务日语",
           kind="language"),
    _skill("korean", "Korean", "language", "Korean|TOPIK", "韩语|韩文|朝鲜语", kind="language"),
    _skill("french", "French", "language", "French|DELF|DALF", "法语|法文", kind="language"),
    _skill("german", "German", "language", "German|TestDaF", "德语|德文", kind="language"),
    _skill("spanish", "Spanish", "language", "Spanish|DELE", "西班牙语|西语", kind="language"),
    _skill("russian", "Russian", "language", "Russian", "俄语|俄文", kind="language"),
    _skill("arabic", "Arabic", "language", "Arabic", "阿拉伯语", kind="language"),
    _skill("portuguese", "Portuguese", "language", "Portuguese", "葡萄牙语|葡语", kind="language"),
)

# Ambiguous aliases, keyed by the alias as written in SKILLS. Unlisted aliases are extracted in
# any writing wherever they stand between word boundaries.
GUARDS: dict[str, AliasGuard] = {
    "Go": AliasGuard(cued=("Go", "GO")),  # the verb: "go to market", "go live"
    "C": AliasGuard(cued=("C",)),  # grades, "C-level", "C端", "C轮"
    "R": AliasGuard(cued=("R",)),  # initials, "R&D"
    "JS": AliasGuard(plain=("JS", "js", "Js")),
    "TS": AliasGuard(cued=("TS",)),
    "ES": AliasGuard(cued=("ES",)),
    "CV": AliasGuard(cued=("CV",)),  # a résumé
    "DL": AliasGuard(cued=("DL",)),
    "ML": AliasGuard(plain=("ML",)),  # millilitres are "ml"
    "AI": AliasGuard(plain=("AI",)),
    "UI": AliasGuard(plain=("UI",)),
    "UX": AliasGuard(plain=("UX",)),
    "HR": AliasGuard(plain=("HR",)),
    "BI": AliasGuard(cued=("BI",)),  # BI Norwegian Business School
    "BD": AliasGuard(plain=("BD",)),
    "QA": AliasGuard(plain=("QA",)),
    "MQ": AliasGuard(plain=("MQ",)),
    "PS": AliasGuard(cued=("PS",)),  # a postscript
    "AE": AliasGuard(cued=("AE",)),
    "SEO": AliasGuard(plain=("SEO",)),  # a Korean family name in lower case
    "SEM": AliasGuard(plain=("SEM",)),
    "SAS": AliasGuard(plain=("SAS",)),
    "SAP": AliasGuard(plain=("SAP",)),
    "KAM": AliasGuard(plain=("KAM",)),
    "ASM": AliasGuard(plain=("ASM",)),
    "APM": AliasGuard(plain=("APM",)),
    "H5": AliasGuard(plain=("H5",)),
    "Spring": AliasGuard(cued=("*",)),  # the season: "Spring 2021"
    "Node": AliasGuard(cued=("*",)),
    "React": AliasGuard(plain=("React", "REACT"), cued=("*",)),  # the verb
    "Excel": AliasGuard(plain=("Excel", "EXCEL"), cued=("*",)),  # the verb
    "Word": AliasGuard(cued=("Word",)),
    "Outlook": AliasGuard(cued=("Outlook",)),
    "Office": AliasGuard(cued=("Office",)),
    "Swift": AliasGuard(plain=("Swift",), cued=("*",)),
    "Rust": AliasGuard(plain=("Rust",), cued=("*",)),
    "Dart": AliasGuard(plain=("Dart",), cued=("*",)),
    "Ruby": AliasGuard(cued=("*",)),  # a given name
    "Julia": AliasGuard(cued=("*",)),  # a given name
    "Rails": AliasGuard(cued=("Rails",)),
    "RoR": AliasGuard(plain=("RoR", "ROR")),
    "Gin": AliasGuard(cued=("Gin",)),
    "Flask": AliasGuard(plain=("Flask",), cued=("*",)),
    "Express": AliasGuard(cued=("*",)),
    "Angular": AliasGuard(plain=("Angular",), cued=("*",)),
    "Bootstrap": AliasGuard(plain=("Bootstrap",), cued=("*",)),
    "Less": AliasGuard(cued=("LESS", "Less")),
    "Shell": AliasGuard(cued=("*",)),  # the company
    "Oracle": AliasGuard(cued=("Oracle", "ORACLE")),  # the employer
    "Mongo": AliasGuard(cued=("*",)),
    "Hive": AliasGuard(plain=("Hive",), cued=("*",)),
    "Spark": AliasGuard(plain=("Spark", "SPARK"), cued=("*",)),
    "Airflow": AliasGuard(plain=("Airflow",), cued=("*",)),
    "Maven": AliasGuard(plain=("Maven",), cued=("*",)),
    "Helm": AliasGuard(cued=("Helm",)),
    "Kube": AliasGuard(cued=("Kube",)),
    "Torch": AliasGuard(cued=("Torch",)),
    "Windows": AliasGuard(plain=("Windows",), cued=("*",)),
    "Unity": AliasGuard(cued=("Unity",)),
    "Eclipse": AliasGuard(cued=("Eclipse",)),
    "Sketch": AliasGuard(cued=("Sketch",)),
    "Illustrator": AliasGuard(cued=("Illustrator",)),  # the job
    "Premiere": AliasGuard(cued=("Premiere",)),
    "Agile": AliasGuard(plain=("Agile",), cued=("*",)),
    "REST": AliasGuard(plain=("REST", "RESTful"), cued=()),  # "at rest"
    "HTTP": AliasGuard(cued=("HTTP",)),  # every link in a résumé
    "TCP": AliasGuard(plain=("TCP",)),
    "UDP": AliasGuard(plain=("UDP",)),
    "Audit": AliasGuard(cued=("*",)),
    "Compensation": AliasGuard(cued=("*",)),
    "Payroll": AliasGuard(cued=("*",)),
    "Payments": AliasGuard(cued=("*",)),
    "Finance": AliasGuard(cued=("*",)),
    "Marketing": AliasGuard(plain=("Marketing",), cued=("*",)),
    "Sales": AliasGuard(plain=("Sales",), cued=("*",)),
    "Selling": AliasGuard(cued=("*",)),
    "Purchasing": AliasGuard(cued=("*",)),
    "Logistics": AliasGuard(plain=("Logistics",), cued=("*",)),
    "Warehousing": AliasGuard(cued=("*",)),
    "Compliance": AliasGuard(cued=("*",)),
    "Innovation": AliasGuard(cued=("*",)),
    "Flexibility": AliasGuard(cued=("*",)),
    "Resilience": AliasGuard(cued=("*",)),
    "Ownership": AliasGuard(cued=("*",)),
    "Accountability": AliasGuard(cued=("*",)),
    "Proactive": AliasGuard(cued=("*",)),
    "Presenting": AliasGuard(cued=("*",)),
    "Partnerships": AliasGuard(cued=("*",)),
    "Recruitment": AliasGuard(plain=("Recruitment",), cued=("*",)),
    "Chinese": AliasGuard(cued=("Chinese",)),  # "the Chinese University of Hong Kong"
    "Japanese": AliasGuard(cued=("Japanese",)),  # nationality adjectives: "a Japanese carmaker"
    "Korean": AliasGuard(cued=("Korean",)),
    "French": AliasGuard(cued=("French",)),
    "German": AliasGuard(cued=("German",)),
    "Spanish": AliasGuard(cued=("Spanish",)),
    "Russian": AliasGuard(cued=("Russian",)),
    "Arabic": AliasGuard(cued=("Arabic",)),
    "Portuguese": AliasGuard(cued=("Portuguese",)),
    "Mandarin": AliasGuard(plain=("Mandarin",), cued=("*",)),
    "Assembly": AliasGuard(cued=("Assembly",)),
    "Assembler": AliasGuard(cued=("Assembler",)),
    "Algorithm": AliasGuard(plain=("Algorithm",), cued=("*",)),
    "Algorithmic": AliasGuard(cued=("*",)),
    "Database": AliasGuard(plain=("Database", "DATABASE"), cued=("*",)),
    "Dashboards": AliasGuard(cued=("*",)),
    "Encryption": AliasGuard(cued=("*",)),
    "Containerized": AliasGuard(cued=("*",)),
    "DRF": AliasGuard(plain=("DRF",)),
    "KPI": AliasGuard(plain=("KPI", "KPIs")),
    "OKR": AliasGuard(plain=("OKR", "OKRs")),
    "GBDT": AliasGuard(plain=("GBDT",)),
    "MCU": AliasGuard(plain=("MCU",)),
    "ASR": AliasGuard(plain=("ASR",)),
    "FaaS": AliasGuard(plain=("FaaS",)),
    "IaC": AliasGuard(plain=("IaC",)),
    "PPC": AliasGuard(plain=("PPC",)),
    "HRM": AliasGuard(plain=("HRM",)),
    "SCM": AliasGuard(plain=("SCM",)),
    "L&D": AliasGuard(plain=("L&D",)),
    "C&B": AliasGuard(plain=("C&B",)),
    "O&M": AliasGuard(plain=("O&M",)),
    "BEC": AliasGuard(plain=("BEC",)),
    "DELE": AliasGuard(plain=("DELE",)),
    "Cypher": AliasGuard(cued=("*",)),
    "UE4": AliasGuard(plain=("UE4",)),
    "UE5": AliasGuard(plain=("UE5",)),
    "建模": AliasGuard(cued=("*",)),  # 数学建模, 财务建模 say more than 3D
    "制图": AliasGuard(cued=("*",)),
    "容器": AliasGuard(cued=("*",)),
    "剪辑": AliasGuard(cued=("*",)),
    "可视化": AliasGuard(cued=("*",)),
    "细致": AliasGuard(cued=("*",)),
    "创意": AliasGuard(cued=("*",)),
    "营销": AliasGuard(cued=("*",)),
    "金融": AliasGuard(cued=("*",)),
    "支付": AliasGuard(cued=("*",)),
    "仓储": AliasGuard(cued=("*",)),
    "测试": AliasGuard(cued=("*",)),
    "运营": AliasGuard(cued=("*",)),
    "财务": AliasGuard(cued=("*",)),
    "谈判": AliasGuard(cued=("*",)),
    "演讲": AliasGuard(cued=("*",)),
    "沟通": AliasGuard(cued=("*",)),
    "人事": AliasGuard(cued=("*",)),
    "敏捷": AliasGuard(cued=("*",)),
    "审计": AliasGuard(cued=("*",)),
    "采购": AliasGuard(cued=("*",)),
    "物流": AliasGuard(cued=("*",)),
    "合规": AliasGuard(cued=("*",)),
    "拉新": AliasGuard(cued=("*",)),
    "文案": AliasGuard(cued=("*",)),
    "中文": AliasGuard(cued=("*",)),
    "英文": AliasGuard(cued=("*",)),
}

# Phrases that hold a skill's name without being that skill. Extraction matches them like aliases
# (longest first) and then drops them, so "go-to-market" never yields Go nor 运营商 yields 运营.
NOT_SKILLS: tuple[str, ...] = (
    "go to market", "go-to-market", "go live", "go-live", "go-to", "c-level", "c-suite", "c端", "b端", "c轮", "c轮融资",
    "r&d", "less than", "spring festival", "react to", "react quickly", "word of mouth", "in a word", "in other words",
    "swift code", "swift transfer", "excel at", "excel in", "excels at", "excels in", "node of", "at rest",
    "运营商", "销售额", "销售量", "销售收入", "英文名", "英文名字", "中文名", "中文名字", "财务自由", "测试题", "测试版",
    "财务报销", "前端时间", "运营中心", "审计署", "物流园", "外国语", "旅客服务", "家电商",
)

# Source entries left out: SPARK (an Ada subset) would take the key of Apache Spark, and these
# O*NET examples are bare company or product-family names rather than skills.
SOURCE_SKIPS: dict[str, tuple[str, ...]] = {
    "esco": ("SPARK",),
    "onet": ("Google", "J", "Abbott", "Squeegee", "Eko", "Blink", "Seesaw", "DOC Cop", "Loom", "Flipgrid",
             "Padlet", "Nearpod", "Mentimeter", "JamBoard", "GroupMe", "ParentSquare", "3M Post-it App",
             "Common Curriculum", "Screencastify", "WeVideo", "Intrado SchoolMessenger", "Canu", "INCORE code",
             "FOLLOW code", "TOTE code", "TokenX", "Tigris Cabie", "CloudWorks", "HyperSpace", "Visible Razor"),
}

# Source names that stay searchable but are never extracted from free text: social networks and
# chat tools named in every résumé's contact line, and words too common to mean the product.
SOURCE_LOOKUP_ONLY: tuple[str, ...] = (
    "Facebook", "LinkedIn", "Twitter", "Instagram", "YouTube", "TikTok", "Skype", "Zoom", "Slack", "FaceTime",
    "Microsoft Teams", "Teams", "Dropbox", "Evernote", "Quicken", "Email software", "Web browser software",
    "Internet browser software", "Social media sites", "Scheme", "Forth", "Shiny", "Modula", "Oberon", "Clipper",
    "Pascal", "Ada", "Logo", "Basic", "Chef", "Puppet", "Travis", "Sakai", "Moodle", "Access", "Project", "Notes",
    "Docs", "Keynote", "Dynamics", "Publisher", "Word", "Teams", "Meet", "Sheets", "Slides", "Drive", "Sites",
    "Classroom", "Analytics", "Ads", "Primavera", "Middleware", "Workday", "Yardi", "Procore", "Epic Systems",
    "Delphi Technology", "LexisNexis", "McAfee", "Magellan Firmware", "Informatica software", "Taleo",
    "Capture One", "Squirrel-script",
)

# Common English words the ESCO descriptions may not hold in lower case, that product names use.
COMMON_WORDS: tuple[str, ...] = (
    "access", "word", "project", "teams", "notes", "docs", "keynote", "zoom", "slack", "chef", "puppet", "blink",
    "loom", "seesaw", "forth", "scheme", "shiny", "logo", "basic", "drive", "sites", "slides", "sheets", "meet",
    "classroom", "ads", "analytics", "publisher", "dynamics", "travis", "jersey", "maya", "rational", "designer",
    "inventor", "ember", "backbone", "meteor", "express",
    "compass", "apex", "atlas", "beam", "bridge", "canvas", "crystal", "delta", "echo", "edge", "elastic", "flow",
    "fusion", "gatling", "glue", "jade", "jest", "karma", "lambda", "lens", "lightning", "matrix", "mercury",
    "nexus", "nova", "orbit", "pulse", "quest", "rhino", "sage", "spring", "storm", "studio", "summit", "swift",
    "titan", "vault", "vector", "vertex", "yarn", "glide", "mason", "mocha", "jasmine", "falcon", "tornado",
)

ROLES: tuple[CuratedRole, ...] = (
    _role("product-manager", "Product manager", "Product manager|Product owner|PM", "产品经理|产品负责人|产品总监|高级产品经理",
          "product-management|requirements-analysis|prototyping"),
    _role("project-manager", "Project manager", "Project manager|Program manager|Delivery manager", "项目经理|项目负责人|项目总监",
          "project-management"),
    _role("software-engineer", "Software engineer", "Software engineer|Software developer|Developer|Programmer|Coder",
          "软件工程师|开发工程师|程序员|研发工程师|软件开发工程师", "algorithms|data-structures"),
    _role("frontend-engineer", "Frontend engineer",
          "Frontend engineer|Front-end engineer|Frontend developer|Front-end developer|Web developer",
          "前端工程师|前端开发工程师|Web前端工程师", "frontend|javascript|html|css"),
    _role("backend-engineer", "Backend engineer", "Backend engineer|Back-end engineer|Backend developer|"
          "Back-end developer",
          "后端工程师|后端开发工程师|服务端开发工程师|后台开发工程师", "backend"),
    _role("full-stack-engineer", "Full-stack engineer", "Full-stack engineer|Full stack developer|Full-stack developer",
          "全栈工程师|全栈开发工程师", "frontend|backend"),
    _role("algorithm-engineer", "Algorithm engineer", "Algorithm engineer", "算法工程师|算法专家|算法研究员",
          "algorithms|machine-learning"),
    _role("machine-learning-engineer", "Machine learning engineer", "Machine learning engineer|ML engineer|AI engineer",
          "机器学习工程师|人工智能工程师|AI工程师|深度学习工程师", "machine-learning|deep-learning"),
    _role("data-analyst", "Data analyst", "Data analyst|Business analyst|BI analyst", "数据分析师|商业分析师|BI分析师",
          "data-analysis|sql|excel"),
    _role("data-scientist", "Data scientist", "Data scientist", "数据科学家", "data-science|machine-learning|statistics"),
    _role("data-engineer", "Data engineer", "Data engineer|Big data engineer", "数据开发工程师|大数据开发工程师|数据工程师|数仓工程师",
          "big-data|etl|data-warehouse"),
    _role("test-engineer", "Test engineer", "Test engineer|QA engineer|SDET|Software tester", "测试工程师|测试开发工程师|QA工程师|"
          "软件测试工程师",
          "software-testing"),
    _role("devops-engineer", "DevOps engineer", "DevOps engineer|Site reliability engineer|SRE engineer|"
          "Operations engineer",
          "运维工程师|运维开发工程师|SRE工程师|系统管理员", "devops|it-operations|linux"),
    _role("mobile-engineer", "Mobile engineer", "Mobile engineer|Mobile developer|Android developer|iOS developer",
          "移动端开发工程师|客户端开发工程师|Android开发工程师|iOS开发工程师|安卓开发工程师", "mobile-development"),
    _role("embedded-engineer", "Embedded engineer", "Embedded engineer|Embedded software engineer|Firmware engineer",
          "嵌入式工程师|嵌入式软件工程师|嵌入式开发工程师", "embedded-systems|c"),
    _role("architect", "Software architect", "Software architect|Solutions architect|System architect|Architect",
          "架构师|系统架构师|解决方案架构师", "software-architecture|distributed-systems"),
    _role("security-engineer", "Security engineer", "Security engineer|Security analyst", "安全工程师|网络安全工程师|信息安全工程师",
          "cyber-security"),
    _role("dba", "Database administrator", "Database administrator|DBA", "数据库管理员|数据库工程师|DBA工程师", "database|sql"),
    _role("engineering-manager", "Engineering manager", "Engineering manager|Tech lead|CTO|Technical director",
          "技术总监|技术经理|研发经理|技术负责人|研发总监", "team-management|software-architecture"),
    _role("ui-designer", "UI designer", "UI designer|Visual designer", "UI设计师|视觉设计师|界面设计师", "ui-design|figma"),
    _role("ux-designer", "UX designer", "UX designer|Interaction designer|UX researcher", "交互设计师|用户体验设计师|用户研究员",
          "ux-design|prototyping"),
    _role("graphic-designer", "Graphic designer", "Graphic designer", "平面设计师|美工", "graphic-design|photoshop"),
    _role("recruiter", "Recruiter", "Recruiter|Talent acquisition specialist|Headhunter|Sourcer",
          "招聘专员|招聘经理|猎头顾问|HR招聘|招聘主管", "recruiting"),
    _role("hr-specialist", "HR specialist", "HR specialist|HR generalist|HR manager|HRBP|HR business partner",
          "人力资源专员|人事专员|人力资源经理|HR专员|HR经理|人事经理", "human-resources"),
    _role("sales-manager", "Sales manager", "Sales manager|Sales representative|Account executive|Salesperson",
          "销售经理|销售代表|销售专员|销售总监|客户经理", "sales|account-management"),
    _role("business-development-manager", "Business development manager", "Business development manager|BD manager",
          "商务经理|BD经理|商务拓展经理|渠道经理", "business-development|sales"),
    _role("marketing-manager", "Marketing manager", "Marketing manager|Marketing specialist|Brand manager",
          "市场经理|市场专员|品牌经理|市场总监", "marketing"),
    _role("operations-specialist", "Operations specialist", "Operations specialist|Operations manager|"
          "Community manager",
          "运营专员|运营经理|用户运营专员|内容运营专员|运营总监", "operations"),
    _role("customer-success-manager", "Customer success manager", "Customer success manager|"
          "Customer service representative",
          "客户成功经理|客服专员|客服主管", "customer-service|account-management"),
    _role("accountant", "Accountant", "Accountant|Financial accountant|Bookkeeper", "会计师|会计专员|出纳|财务专员|财务经理|总账会计",
          "accounting|taxation"),
    _role("financial-analyst", "Financial analyst", "Financial analyst", "财务分析师|金融分析师", "financial-analysis|finance"),
    _role("auditor", "Auditor", "Auditor|Internal auditor", "审计师|审计专员|内审专员", "auditing"),
    _role("lawyer", "Legal counsel", "Legal counsel|Lawyer|Attorney", "法务专员|法务经理|律师|法律顾问", "legal|compliance"),
    _role("purchasing-specialist", "Purchasing specialist", "Purchasing specialist|Buyer|Procurement manager",
          "采购专员|采购经理|采购工程师", "procurement"),
    _role("supply-chain-manager", "Supply chain manager", "Supply chain manager|Logistics manager", "供应链经理|物流经理|物流专员",
          "supply-chain|logistics"),
)
