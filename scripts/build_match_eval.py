"""Build the labelled evaluation set for match scoring into tests/matching_eval/.

    .venv/bin/python scripts/build_match_eval.py [--data ../shared/data] [--out tests/matching_eval]

Writes three JSON files (one record per line, deterministic):
- jobs.json: 24 job postings written for this set, 12 in English and 12 in Chinese, across twelve
  role families; most have only a title and a description, a few state requirements.
- talents.json: CRM-shaped talents from three sources: English Indeed résumés (dotin-inc
  resume-dataset-NER-annotations, CC0), built from their labelled spans; Chinese executive
  biographies (ResumeNER, Zhang & Yang 2018), with names, nationality, ethnicity, birthplace,
  gender and birth dates removed; and Chinese tech profiles composed here from the tables below.
- labels.json: a grade 0-3 for every (job, talent) pair with a grade above 0.

The grades come from rules written apart from the scorer, so that the evaluation is not
circular. A talent's role family comes from its job title (the résumé's labelled designation)
by FAMILY_RULES; a job's family is set by hand. Then, with `hits` the number of the job's
hand-written key terms found in the talent's labelled skills and titles (plain substring
matching, no taxonomy):

    same family:     3 if hits >= 2, else 2
    adjacent family: 2 if hits >= 2, else 1      (ADJACENT, e.g. backend and devops)
    other family:    1 if hits >= 3, else 0

The scorer never sees families, key terms or these rules; it reads the CRM fields only.
"""

from __future__ import annotations

import argparse
import html
import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ("backend", "frontend", "data", "ml", "devops", "mobile", "qa", "product", "finance", "sales", "hr",
            "software", "other")
# Families one step apart: a backend engineer is a fair guess for a devops job, not for sales.
ADJACENT = {frozenset(pair) for pair in (
    ("backend", "software"), ("frontend", "software"), ("mobile", "software"), ("qa", "software"),
    ("devops", "software"), ("ml", "software"), ("backend", "devops"), ("backend", "data"), ("frontend", "mobile"),
    ("data", "ml"), ("data", "finance"), ("product", "software"), ("product", "sales"), ("sales", "hr"),
    ("backend", "frontend"), ("qa", "devops"),
)}
# A designation's family: first rule that matches (lower case).
FAMILY_RULES = (
    ("qa", r"\btest|\bqa\b|quality assurance|beta tester|dev-test|测试"),
    ("mobile", r"mobile|android|\bios\b|app develop|移动端|客户端"),
    ("ml", r"machine learning|data scientist|\bai\b|deep learning|算法|机器学习"),
    ("data", r"data analyst|business analyst|quantitative|\bmsbi\b|\bbi\b|social network analyst|数据"),
    ("frontend", r"front|web developer|web and application|web application|\bui developer|前端"),
    ("devops", (r"devops|network|system administration|systems? admin|it support|help desk|technical support"
                r"|tech support|infrastructure|escalation|operations center|it assistant|运维|sre")),
    ("backend", r"java|j2ee|\bphp\b|python|back-?end|\.net|\besb\b|abap|后端|服务端"),
    ("finance", r"financ|account|\bbank|audit|\btax|profit manager|sap - fi|会计|财务|审计|金融|出纳"),
    ("sales", (r"sales|marketing|business development|account executive|advertis|market assistant|crm functional"
               r"|销售|营销|市场|商务|客户经理")),
    ("hr", r"\bhr\b|human resource|recruit|talent acquisition|training manager|人力|招聘|人事"),
    ("product", r"product manager|project manag|program manager|project leader|scrum|产品经理|项目经理"),
    ("software", (r"software|developer|programmer|system engineer|systems engineer|architect|technical lead"
                  r"|tech lead|technology lead|lead engineer|game programmer|embedded|firmware|consultant - sap"
                  r"|sap .*consultant|软件|开发工程师|程序员")),
)
PROTECTED_TAGS = ("NAME", "CONT", "RACE", "LOC")
PROTECTED_WORDS = re.compile(r"男|女|出生|岁|居留权|国籍|籍贯|民族|族|党员|婚")

# --- jobs --------------------------------------------------------------------------------------
JOBS: list[dict[str, Any]] = [
    {"id": "en-backend", "family": "backend", "key_terms": ["java", "spring", "j2ee", "hibernate", "sql", "rest",
                                                            "microservice", "kafka", "php", "mysql"],
     "crm": {"title": "Senior Java Backend Engineer", "locations": ["Bangalore"], "description": (
         "We are hiring a backend engineer for our payments platform. You will design and build REST services in "
         "Java and Spring Boot, model data in MySQL and PostgreSQL, and publish events through Kafka.\n"
         "Requirements:\n- 4+ years of professional experience building backend systems in Java\n"
         "- Solid SQL, Hibernate or JPA, and microservices design\n- Experience with Git and Maven\n"
         "- Familiarity with Docker and AWS is a plus\n- Bachelor's degree in Computer Science or a related field")}},
    {"id": "en-frontend", "family": "frontend", "key_terms": ["javascript", "html", "css", "react", "angular",
                                                              "jquery", "bootstrap", "typescript", "web"],
     "crm": {"title": "Frontend Developer (React)", "locations": ["Pune"], "remote": True, "description": (
         "Join the team that builds our customer web app. You will turn designs into fast, accessible pages with "
         "React, TypeScript, HTML5 and CSS3, and work with backend engineers on REST APIs.\n"
         "What we need: 3+ years of frontend development, strong JavaScript, responsive design with Bootstrap or "
         "similar, browser debugging and performance tuning. Angular or Vue experience is welcome. Knowledge of "
         "Node.js and webpack is a plus.")}},
    {"id": "en-data", "family": "data", "key_terms": ["sql", "excel", "tableau", "power bi", "python",
                                                      "analytics", "statistics", "msbi", "ssis", "ssrs"],
     "crm": {"title": "Data Analyst", "locations": ["Hyderabad"], "description": (
         "As a data analyst you will own the reporting of our sales and operations data. You will write SQL "
         "against the data warehouse, build dashboards in Power BI and Tableau, and explain the numbers to "
         "business teams.\nRequirements: 2+ years in data analysis or business intelligence; advanced SQL and "
         "Excel; SSIS or SSRS experience; basic statistics; Python for data analysis is a plus. A degree in "
         "statistics, mathematics, economics or computer science.")}},
    {"id": "en-ml", "family": "ml", "key_terms": ["machine learning", "python", "tensorflow", "pytorch",
                                                  "deep learning", "nlp", "statistics", "scikit", "r"],
     "crm": {"title": "Machine Learning Engineer", "locations": ["Bangalore"], "description": (
         "Build and ship machine learning models for search ranking and recommendations. You will own the path "
         "from data pipelines to training in Python with PyTorch or TensorFlow, evaluation and deployment.\n"
         "Requirements: 3+ years of experience with machine learning in production; strong Python, NumPy, pandas "
         "and scikit-learn; deep learning and NLP; solid statistics. Master's degree in computer science, "
         "statistics or a related field; PhD preferred. Spark experience is a plus.")}},
    {"id": "en-devops", "family": "devops", "key_terms": ["linux", "aws", "docker", "jenkins", "kubernetes",
                                                          "network", "windows server", "shell", "ansible",
                                                          "vmware"],
     "crm": {"title": "DevOps Engineer", "locations": ["Chennai"], "description": (
         "Keep our systems running and our releases boring. You will run Linux servers and Kubernetes clusters on "
         "AWS, automate with Ansible and Terraform, and own CI/CD pipelines in Jenkins.\nWe look for: 3-6 years "
         "in system administration, DevOps or SRE; shell scripting and Python; Docker; networking (TCP/IP, DNS, "
         "load balancers); monitoring with Nagios or Prometheus. VMware and Windows Server experience is a plus.")}},
    {"id": "en-mobile", "family": "mobile", "key_terms": ["android", "ios", "swift", "kotlin", "java",
                                                          "mobile", "objective-c", "react native", "flutter"],
     "crm": {"title": "Android Developer", "locations": ["Noida"], "description": (
         "Build our Android app used by two million riders. You will write Kotlin and Java, design clean "
         "architecture with MVVM, integrate REST APIs and publish to Google Play.\nRequirements: 2+ years of "
         "Android development; Android SDK, Jetpack, Retrofit, SQLite; Git. Experience with iOS (Swift) or "
         "Flutter is a plus.")}},
    {"id": "en-qa", "family": "qa", "key_terms": ["selenium", "testing", "test cases", "qa", "automation",
                                                  "jira", "manual testing", "regression", "junit", "qtp"],
     "crm": {"title": "QA Automation Engineer", "locations": ["Bangalore"], "description": (
         "Own the quality of our web platform. You will write test plans and test cases, automate regression "
         "suites with Selenium WebDriver and Java or Python, and track defects in JIRA.\nRequirements: 3+ years "
         "in software testing, both manual testing and test automation; API testing with Postman; SQL; "
         "experience in Agile teams. ISTQB certification is a plus.")}},
    {"id": "en-product", "family": "product", "key_terms": ["project management", "agile", "scrum", "stakeholder",
                                                            "roadmap", "pmp", "jira", "requirements", "planning"],
     "crm": {"title": "Technical Project Manager", "locations": ["Mumbai"], "description": (
         "Lead delivery of software projects for enterprise clients. You will plan releases, run Scrum "
         "ceremonies, manage scope, risks and budgets, and keep stakeholders informed.\nRequirements: 5+ years "
         "of project management in software; Agile and Scrum; requirements gathering; MS Project and JIRA; "
         "excellent communication. PMP certification preferred.")}},
    {"id": "en-finance", "family": "finance", "key_terms": ["accounting", "tally", "gst", "taxation", "audit",
                                                            "excel", "financial", "sap fi", "accounts payable",
                                                            "reconciliation"],
     "crm": {"title": "Accountant", "locations": ["Delhi"], "description": (
         "Keep the books of a growing manufacturing company. You will handle accounts payable and receivable, "
         "bank reconciliation, GST and TDS filings, and month-end closing, and support the statutory audit.\n"
         "Requirements: B.Com or M.Com; 2+ years of accounting experience; Tally ERP and advanced Excel; "
         "knowledge of taxation. SAP FI experience or a CA Inter qualification is a plus.")}},
    {"id": "en-sales", "family": "sales", "key_terms": ["sales", "marketing", "business development", "crm",
                                                        "negotiation", "client", "lead generation",
                                                        "customer relationship", "b2b"],
     "crm": {"title": "Business Development Executive", "locations": ["Bangalore"], "description": (
         "Grow our B2B customer base. You will generate leads, run product demos, negotiate contracts and manage "
         "the sales pipeline in Salesforce CRM.\nRequirements: 2+ years in sales or business development; "
         "strong negotiation and communication skills; customer relationship management; experience with "
         "digital marketing is a plus.")}},
    {"id": "en-hr", "family": "hr", "key_terms": ["recruitment", "recruiting", "hr", "human resources",
                                                  "onboarding", "payroll", "employee relations", "talent",
                                                  "training"],
     "crm": {"title": "HR Generalist", "locations": ["Gurgaon"], "description": (
         "Support 400 employees across two offices. You will run end-to-end recruitment, onboarding, payroll "
         "inputs and employee relations, and organise training programmes.\nRequirements: 3+ years in human "
         "resources; knowledge of labour law; HRIS tools and Excel; an MBA in HR is preferred.")}},
    {"id": "en-support", "family": "devops", "key_terms": ["technical support", "windows", "active directory",
                                                           "troubleshooting", "network", "help desk", "itil",
                                                           "office 365", "hardware"],
     "crm": {"title": "IT Support Engineer", "locations": ["Bangalore"], "description": (
         "Be the first line for our staff's IT. You will troubleshoot Windows and macOS laptops, manage users in "
         "Active Directory and Office 365, look after printers and the office network, and keep tickets moving "
         "in ServiceNow.\nRequirements: 1-4 years in technical support or help desk; ITIL basics; hardware and "
         "networking knowledge (LAN, Wi-Fi, VPN); good communication in English.")}},
    {"id": "zh-backend", "family": "backend", "key_terms": ["java", "spring", "mysql", "redis", "kafka",
                                                            "微服务", "后端", "dubbo", "mybatis", "go"],
     "crm": {"title": "Java后端开发工程师", "locations": ["上海"], "description": (
         "岗位职责：\n1. 负责电商交易、支付系统的后端设计与开发；\n2. 参与系统架构设计和技术方案评审，保障高并发下的稳定性；\n"
         "3. 优化数据库和缓存，排查线上问题。\n任职要求：\n1. 本科及以上学历，计算机相关专业；\n2. 3年以上Java开发经验，"
         "熟悉Spring Boot、Spring Cloud、MyBatis；\n3. 熟悉MySQL、Redis、Kafka等中间件；\n4. 有微服务和分布式系统经验；\n"
         "5. 有Go语言经验者优先。")}},
    {"id": "zh-frontend", "family": "frontend", "key_terms": ["javascript", "vue", "react", "typescript", "css",
                                                              "html", "前端", "小程序", "webpack"],
     "crm": {"title": "前端开发工程师", "locations": ["杭州"], "description": (
         "岗位职责：负责公司中后台系统和移动端H5页面的开发；与设计、后端协作完成需求；持续优化页面性能和用户体验。\n"
         "任职要求：本科及以上学历；2年以上前端开发经验；精通JavaScript、HTML、CSS，熟悉TypeScript；熟练使用Vue或React"
         "框架；熟悉Webpack等构建工具；有微信小程序开发经验者优先。")}},
    {"id": "zh-data", "family": "data", "key_terms": ["sql", "python", "excel", "tableau", "数据分析", "统计",
                                                      "hive", "spark", "报表"],
     "crm": {"title": "数据分析师", "locations": ["北京"], "description": (
         "岗位职责：负责业务数据的提取、清洗与分析，搭建指标体系和数据看板；通过A/B测试和专题分析支持产品与运营决策。\n"
         "任职要求：统计学、数学或计算机相关专业本科及以上；2年以上数据分析经验；精通SQL，熟练使用Python或R进行数据分析；"
         "熟悉Tableau或Power BI；了解Hive、Spark等大数据工具；逻辑清晰，沟通能力强。")}},
    {"id": "zh-ml", "family": "ml", "key_terms": ["机器学习", "深度学习", "pytorch", "tensorflow", "python",
                                                  "nlp", "自然语言处理", "推荐", "算法"],
     "crm": {"title": "机器学习算法工程师", "locations": ["北京"], "description": (
         "岗位职责：负责搜索推荐场景的机器学习模型研发，包括特征工程、模型训练、离线评估和线上部署；跟进自然语言处理和深度学习"
         "前沿技术并落地。\n任职要求：硕士及以上学历，计算机、数学、统计等相关专业；3年以上算法相关工作经验；熟练掌握Python，"
         "熟悉PyTorch或TensorFlow；扎实的机器学习理论基础；有推荐系统或NLP项目经验者优先。")}},
    {"id": "zh-devops", "family": "devops", "key_terms": ["linux", "docker", "kubernetes", "k8s", "运维",
                                                          "shell", "jenkins", "prometheus", "ansible", "网络"],
     "crm": {"title": "运维开发工程师", "locations": ["深圳"], "description": (
         "岗位职责：负责公司线上服务的部署、监控和故障处理；建设基于Kubernetes的容器平台和CI/CD流水线；编写自动化运维脚本。\n"
         "任职要求：3年以上运维或SRE经验；精通Linux系统，熟悉Shell和Python脚本；熟悉Docker、Kubernetes、Jenkins；"
         "熟悉Prometheus、Grafana等监控工具；了解TCP/IP网络；有阿里云或AWS经验者优先。")}},
    {"id": "zh-mobile", "family": "mobile", "key_terms": ["android", "ios", "kotlin", "swift", "flutter",
                                                          "移动端", "客户端", "objective-c"],
     "crm": {"title": "iOS开发工程师", "locations": ["广州"], "description": (
         "岗位职责：负责公司iOS客户端的功能开发与性能优化；与产品、设计、后端协作完成版本迭代。\n任职要求：本科及以上学历；"
         "3年以上iOS开发经验；精通Swift和Objective-C；熟悉UIKit、多线程、网络编程；有Flutter或Android开发经验者优先。")}},
    {"id": "zh-qa", "family": "qa", "key_terms": ["测试", "selenium", "自动化测试", "接口测试", "jmeter",
                                                  "python", "测试用例", "性能测试"],
     "crm": {"title": "测试开发工程师", "locations": ["上海"], "description": (
         "岗位职责：负责业务系统的功能测试、接口测试和性能测试；编写测试用例和测试计划；开发和维护自动化测试框架。\n"
         "任职要求：本科及以上学历；3年以上软件测试经验；熟悉Python或Java，能编写自动化测试脚本；熟练使用Selenium、"
         "JMeter、Postman；熟悉Linux和SQL；有持续集成经验者优先。")}},
    {"id": "zh-product", "family": "product", "key_terms": ["产品", "需求分析", "原型", "axure", "项目管理",
                                                            "用户研究", "数据分析", "prd"],
     "crm": {"title": "产品经理", "locations": ["北京"], "description": (
         "岗位职责：负责企业SaaS产品的规划与设计；调研用户需求，撰写PRD和产品原型；协调研发、测试、运营推进项目上线；"
         "跟踪数据，持续迭代产品。\n任职要求：本科及以上学历；3年以上B端产品经验；熟练使用Axure、墨刀等原型工具；具备需求分析"
         "和项目管理能力；有数据分析能力者优先。")}},
    {"id": "zh-finance", "family": "finance", "key_terms": ["会计", "财务", "审计", "税务", "注册会计师",
                                                            "财务报表", "成本", "预算", "cpa"],
     "crm": {"title": "财务经理", "locations": ["深圳"], "description": (
         "岗位职责：全面负责公司财务核算、财务报表编制与分析；组织预算管理和成本控制；负责税务筹划与申报；配合年度审计。\n"
         "任职要求：会计、财务管理相关专业本科及以上学历；8年以上财务工作经验，3年以上财务管理经验；持有中级会计师或注册会计师"
         "证书；熟悉企业会计准则和税法；熟练使用用友、金蝶等财务软件。")}},
    {"id": "zh-sales", "family": "sales", "key_terms": ["销售", "客户", "市场", "营销", "商务", "渠道",
                                                        "谈判", "crm"],
     "crm": {"title": "大客户销售经理", "locations": ["上海"], "description": (
         "岗位职责：开拓和维护企业级大客户，完成销售目标；挖掘客户需求，制定销售方案并推进商务谈判；维护客户关系，"
         "推动续约与增购。\n任职要求：大专及以上学历；3年以上B2B销售经验，有软件或SaaS行业经验者优先；优秀的沟通和谈判能力；"
         "熟练使用CRM系统。")}},
    {"id": "zh-hr", "family": "hr", "key_terms": ["人力资源", "招聘", "培训", "绩效", "薪酬", "员工关系",
                                                  "劳动法"],
     "crm": {"title": "人力资源经理", "locations": ["北京"], "description": (
         "岗位职责：负责公司招聘、培训、绩效、薪酬福利和员工关系等人力资源工作；搭建和完善人力资源管理制度；支持业务部门的组织"
         "发展。\n任职要求：人力资源管理相关专业本科及以上学历；5年以上人力资源工作经验；熟悉劳动法律法规；具备良好的沟通协调"
         "能力；持有人力资源管理师证书者优先。")}},
    {"id": "zh-auditor", "family": "finance", "key_terms": ["审计", "内控", "会计", "财务", "风险",
                                                            "注册会计师", "cpa", "合规"],
     "crm": {"title": "内部审计专员", "locations": ["杭州"], "description": (
         "岗位职责：执行公司及子公司的内部审计项目，评估内部控制和风险管理；跟踪审计发现的整改；参与专项审计和合规检查。\n"
         "任职要求：审计、会计、财务相关专业本科及以上学历；3年以上审计工作经验，有会计师事务所经验者优先；熟悉内部控制"
         "和企业会计准则；持有CPA或CIA证书者优先。")}},
]

# --- composed Chinese tech profiles ------------------------------------------------------------
COMPOSED: dict[str, dict[str, Any]] = {
    "backend": {"titles": ("Java开发工程师", "后端开发工程师", "高级Java工程师", "服务端开发工程师"),
                "skills": ("Java", "Spring Boot", "Spring Cloud", "MyBatis", "MySQL", "Redis", "Kafka", "Dubbo",
                           "微服务", "Linux", "Go", "RabbitMQ", "Elasticsearch", "Nginx"),
                "work": ("负责订单中心和支付系统的设计与开发", "参与交易系统微服务化改造，拆分核心服务",
                         "优化接口性能，引入缓存和消息队列应对高并发")},
    "frontend": {"titles": ("前端开发工程师", "Web前端工程师", "高级前端工程师"),
                 "skills": ("JavaScript", "TypeScript", "Vue", "React", "HTML", "CSS", "Webpack", "小程序",
                            "Node.js", "Element UI", "ECharts"),
                 "work": ("负责中后台管理系统的前端开发", "开发微信小程序和H5活动页面", "搭建组件库，优化首屏加载性能")},
    "data": {"titles": ("数据分析师", "商业分析师", "BI分析师"),
             "skills": ("SQL", "Python", "Excel", "Tableau", "Power BI", "Hive", "统计学", "数据可视化", "SPSS", "R"),
             "work": ("搭建业务指标体系和数据看板", "负责用户增长专题分析和A/B测试评估", "编写SQL提取数据，输出周报和月报")},
    "ml": {"titles": ("算法工程师", "机器学习工程师", "NLP算法工程师"),
           "skills": ("Python", "机器学习", "深度学习", "PyTorch", "TensorFlow", "自然语言处理", "推荐系统", "Spark",
                      "scikit-learn", "C++"),
           "work": ("负责推荐排序模型的训练与上线", "研发文本分类和命名实体识别模型", "搭建特征工程和离线评估流程")},
    "devops": {"titles": ("运维工程师", "SRE工程师", "运维开发工程师"),
               "skills": ("Linux", "Shell", "Python", "Docker", "Kubernetes", "Jenkins", "Ansible", "Prometheus",
                          "Nginx", "MySQL", "阿里云"),
               "work": ("负责线上服务的部署与监控告警", "建设Kubernetes容器平台和CI/CD流水线", "编写自动化运维脚本，处理线上故障")},
    "mobile": {"titles": ("Android开发工程师", "iOS开发工程师", "移动端开发工程师"),
               "skills": ("Android", "Kotlin", "Java", "iOS", "Swift", "Objective-C", "Flutter", "React Native"),
               "work": ("负责App客户端的功能开发与性能优化", "重构客户端网络层和图片加载", "使用Flutter开发跨平台业务模块")},
    "qa": {"titles": ("测试工程师", "测试开发工程师", "自动化测试工程师"),
           "skills": ("软件测试", "自动化测试", "Selenium", "JMeter", "Postman", "Python", "接口测试", "性能测试", "Linux",
                      "SQL"),
           "work": ("负责业务系统的功能测试和回归测试", "开发接口自动化测试框架", "执行性能测试并输出测试报告")},
    "product": {"titles": ("产品经理", "高级产品经理", "产品专员"),
                "skills": ("需求分析", "产品设计", "Axure", "原型设计", "项目管理", "用户研究", "数据分析", "PRD"),
                "work": ("负责B端SaaS产品的规划与迭代", "调研用户需求，撰写PRD和原型", "协调研发测试推动版本上线")},
    "hr": {"titles": ("招聘专员", "人力资源专员", "HRBP"),
           "skills": ("招聘", "人力资源管理", "培训", "绩效管理", "薪酬福利", "员工关系", "劳动法", "Excel"),
           "work": ("负责技术岗位的招聘和面试安排", "组织新员工入职培训", "处理员工关系和劳动合同管理")},
    "sales": {"titles": ("销售经理", "客户经理", "渠道销售"),
              "skills": ("销售", "客户关系管理", "商务谈判", "市场营销", "渠道管理", "CRM", "大客户销售"),
              "work": ("负责华东区域企业客户的开拓与维护", "完成年度销售目标，签约多个大客户", "管理渠道代理商，推动销售增长")},
}
COMPANIES_ZH = ("星云科技", "蓝鲸电商", "云帆软件", "千帆网络", "数智金融", "远景出行", "青橙教育", "极光医疗")
SCHOOLS_ZH = ("浙江大学", "华中科技大学", "电子科技大学", "南京大学", "武汉大学", "西安电子科技大学", "深圳大学", "郑州大学")
MAJORS_ZH = {"backend": "计算机科学与技术", "frontend": "软件工程", "data": "统计学", "ml": "计算机科学与技术",
             "devops": "网络工程", "mobile": "软件工程", "qa": "计算机科学与技术", "product": "信息管理与信息系统",
             "hr": "人力资源管理", "sales": "市场营销"}
CITIES_ZH = ("北京", "上海", "深圳", "杭州", "广州", "成都", "苏州", "南京")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "matching_eval")
    args = parser.parse_args()
    rng = random.Random(20261125)
    talents = [*dotin_talents(args.data / "dotin_train", rng), *resumener_talents(args.data / "resumener", rng),
               *composed_talents(rng)]
    labels: dict[str, dict[str, int]] = {}
    for job in JOBS:
        graded = {t["id"]: g for t in talents if (g := grade(t["family"], t["label_text"], job))}
        labels[job["id"]] = dict(sorted(graded.items()))
    args.out.mkdir(parents=True, exist_ok=True)
    _write_lines(args.out / "jobs.json", [{k: job[k] for k in ("id", "family", "key_terms", "crm")} | {
        "language": "zh" if job["id"].startswith("zh") else "en"} for job in JOBS])
    _write_lines(args.out / "talents.json", [{k: t[k] for k in ("id", "language", "source", "family", "crm")}
                                             for t in talents])
    (args.out / "labels.json").write_text(
        "{\n" + ",\n".join(f"{json.dumps(job)}: {json.dumps(grades)}" for job, grades in labels.items()) + "\n}\n",
        encoding="utf-8")
    families = Counter(t["family"] for t in talents)
    sources = Counter(t["source"] for t in talents)
    grades = Counter(g for grades in labels.values() for g in grades.values())
    print(f"{len(JOBS)} jobs, {len(talents)} talents {dict(sources)}; families {dict(families)}; "
          f"grades above 0 {dict(sorted(grades.items()))}")
    for name in ("jobs.json", "talents.json", "labels.json"):
        print(f"  {name}: {(args.out / name).stat().st_size:,} bytes")


def grade(family: str, label_text: str, job: dict[str, Any]) -> int:
    """The rule in the module docstring."""
    hits = sum(1 for term in job["key_terms"] if _has_term(label_text, term))
    if family == job["family"]:
        return 3 if hits >= 2 else 2
    if frozenset((family, job["family"])) in ADJACENT:
        return 2 if hits >= 2 else 1
    return 1 if hits >= 3 else 0


def family_of(designation: str) -> str:
    lowered = designation.lower()
    for family, pattern in FAMILY_RULES:
        if re.search(pattern, lowered):
            return family
    return "other"


# --- English résumés ---------------------------------------------------------------------------
_LABEL = re.compile(r'<label type="([^"]+)">(.*?)</label>', re.DOTALL)
_MONTHS = {m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                           "nov", "dec"))}
_PERIOD = re.compile(r"(?:(\w+)\s+)?(\d{4})\s*(?:-|–|to|\s)\s*(?:(\w+)\s+)?(\d{4}|present)", re.IGNORECASE)
_MAX_DOTIN = 130
_MAX_OTHER_DOTIN = 30


def dotin_talents(folder: Path, rng: random.Random) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.xml"), key=lambda p: int(p.stem)):
        talent = _dotin(path)
        if talent is None:
            continue
        (others if talent["family"] == "other" else kept).append(talent)
    rng.shuffle(kept)
    rng.shuffle(others)
    chosen = sorted(kept[:_MAX_DOTIN - _MAX_OTHER_DOTIN] + others[:_MAX_OTHER_DOTIN], key=lambda t: t["n"])
    return [{k: v for k, v in t.items() if k != "n"} for t in chosen]


def _dotin(path: Path) -> dict[str, Any] | None:
    raw = path.read_text(encoding="utf-8")
    labels = [(kind, " ".join(html.unescape(text).split()), match.start()) for match in _LABEL.finditer(raw)
              for kind, text in [match.groups()]]
    designations = [text for kind, text, _ in labels if kind == "Designation"]
    if not designations:
        return None
    skills: list[str] = []
    for kind, text, _ in labels:
        if kind in ("Tech Tools", "Job Specific Skills", "Soft Skills") and 1 < len(text) <= 40 \
                and text.lower() not in (s.lower() for s in skills):
            skills.append(text)
    years = [float(m.group(1)) for kind, text, _ in labels if kind == "Years of Experience"
             and (m := re.match(r"(\d+(?:\.\d+)?)\+?\s*years?", text, re.IGNORECASE))]
    work_at = raw.find("WORK EXPERIENCE")
    education_at = raw.find("EDUCATION", max(work_at, 0))
    experience = _dotin_experience(raw[work_at:education_at] if work_at >= 0 else "", work_at)
    education = _dotin_education([(k, t) for k, t, at in labels if education_at >= 0 and at > education_at])
    locations = [text for kind, text, _ in labels if kind == "Location"]
    head = _plain(raw[:work_at] if work_at > 0 else raw[:1200], drop=("Name", "Email Address"))
    crm: dict[str, Any] = {
        "id": f"dotin-{path.stem}", "name": f"Indeed résumé {path.stem}", "current_title": designations[0][:200],
        "location": locations[0] if locations else None, "summary": head[:300],
        "skills": [{"name": s} for s in skills[:25]], "experience": experience[:4], "education": education[:2],
    }
    if years:
        crm["years_of_experience"] = max(years)
    label_text = " | ".join([*designations, *skills])
    return {"n": int(path.stem), "id": crm["id"], "language": "en", "source": "dotin", "crm": crm,
            "family": family_of(designations[0]), "label_text": label_text}


def _dotin_experience(section: str, _: int) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    parts = re.split(r'(?=<label type="Designation">)', section)
    for part in parts:
        match = re.match(r'<label type="Designation">(.*?)</label>', part, re.DOTALL)
        if not match:
            continue
        entry: dict[str, Any] = {"title": " ".join(html.unescape(match.group(1)).split())[:200]}
        if company := re.search(r'<label type="Companies worked at">(.*?)</label>', part, re.DOTALL):
            entry["company"] = " ".join(html.unescape(company.group(1)).split())[:200]
        if period := re.search(r'<label type="Years of Experience">(.*?)</label>', part, re.DOTALL):
            entry.update(_period(" ".join(period.group(1).split())))
        description = _plain(part[match.end():], drop=("Companies worked at", "Years of Experience", "Location"))
        description = re.sub(r"https?://\S+", "", description).strip(" -•\n")
        if len(description) > 10:
            entry["description"] = description[:200]
        entries.append(entry)
    return entries


def _period(text: str) -> dict[str, str]:
    match = _PERIOD.search(text)
    if not match:
        return {}
    start_month = _MONTHS.get((match.group(1) or "")[:3].lower())
    end_month = _MONTHS.get((match.group(3) or "")[:3].lower())
    start = match.group(2) + (f"-{start_month:02d}" if start_month else "")
    end = "present" if match.group(4).lower() == "present" else match.group(4) + (
        f"-{end_month:02d}" if end_month else "")
    if end != "present" and end < start:
        return {"start": start}
    return {"start": start, "end": end}


def _dotin_education(labels: list[tuple[str, str]]) -> list[dict[str, Any]]:
    schools: list[dict[str, Any]] = []
    for kind, text in labels:
        if kind == "Degree":
            schools.append({"degree": text[:200]})
        elif kind == "College Name" and schools and "school" not in schools[-1]:
            lines = [line.strip() for line in re.split(r"\s{2,}|\n", text) if line.strip()]
            schools[-1]["school"] = text[:200]
            if (major := re.search(r"\(([^)]+)\)|\bin ([A-Za-z &]+)$", schools[-1]["degree"])) and major.group(0):
                schools[-1]["major"] = (major.group(1) or major.group(2)).strip()[:200]
            elif len(lines) > 1 or (len(text.split()) == 1 and text.isupper()):
                schools[-1]["major"] = text.split()[0][:200]
        elif kind == "Graduation Year" and schools and (year := re.search(r"\d{4}", text)):
            schools[-1].setdefault("end", year.group(0))
    return schools


def _plain(markup: str, drop: tuple[str, ...] = ()) -> str:
    for kind in drop:
        markup = re.sub(rf'<label type="{kind}">.*?</label>', "", markup, flags=re.DOTALL)
    text = re.sub(r"</?label[^>]*>|</?cv>|<\?xml[^>]*>", "", markup)
    text = re.sub(r"Email me on Indeed:?|https?://\S+", "", text)
    return html.unescape(re.sub(r"\n\s*\n+", "\n", re.sub(r"[ \t]+", " ", text)).strip())


# --- Chinese biographies -----------------------------------------------------------------------
_MAX_RESUMENER = {"finance": 24, "sales": 8, "hr": 6, "software": 8, "other": 24}


def resumener_talents(folder: Path, rng: random.Random) -> list[dict[str, Any]]:
    people = _people(folder / "train.char.bmes")
    by_family: dict[str, list[dict[str, Any]]] = {}
    for number, sentences in enumerate(people):
        talent = _biography(number, sentences)
        if talent is not None:
            by_family.setdefault(talent["family"], []).append(talent)
    chosen: list[dict[str, Any]] = []
    for family, limit in _MAX_RESUMENER.items():
        pool = by_family.get(family, [])
        rng.shuffle(pool)
        chosen.extend(pool[:limit])
    return sorted(chosen, key=lambda t: int(t["id"].split("-")[1]))


def _people(path: Path) -> list[list[list[tuple[str, str]]]]:
    """Sentences grouped into people: a sentence naming someone starts a new biography."""
    people: list[list[list[tuple[str, str]]]] = []
    sentence: list[tuple[str, str]] = []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.strip():
            char, tag = line.split()
            sentence.append((char, tag))
            continue
        if sentence:
            if any(tag.endswith("NAME") for _, tag in sentence) or not people:
                people.append([])
            people[-1].append(sentence)
            sentence = []
    return people


def _entities(sentence: list[tuple[str, str]]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for char, tag in sentence:
        if tag == "O":
            continue
        position, kind = tag.split("-", 1)
        if position in ("B", "S") or not found or found[-1][0] != kind:
            found.append((kind, char))
        else:
            found[-1] = (kind, found[-1][1] + char)
    return found


def _clean_sentence(sentence: list[tuple[str, str]]) -> str:
    """The sentence without protected spans (names, nationality, ethnicity, birthplace) and without
    the clauses that state gender, age, birth or party membership."""
    text = "".join("\x00" if tag.split("-")[-1] in PROTECTED_TAGS else char for char, tag in sentence)
    clauses = re.split(r"(?<=[，,；;。])", text)
    kept = [c for c in clauses if "\x00" not in c and not PROTECTED_WORDS.search(c)]
    return "".join(kept).strip("，,；; ")


def _biography(number: int, sentences: list[list[tuple[str, str]]]) -> dict[str, Any] | None:
    entities = [e for s in sentences for e in _entities(s)]
    titles = [text for kind, text in entities if kind == "TITLE" and text not in ("中共党员", "党员")]
    if not titles:
        return None
    families = [family_of(title) for title in titles]
    family = next((f for f in families if f not in ("other", "software")), None) or \
        ("software" if "software" in families else "other")
    main_title = next((t for t, f in zip(titles, families, strict=True) if f == family), titles[0])
    experience: list[dict[str, Any]] = []
    education: list[dict[str, Any]] = []
    for sentence in sentences:
        found = _entities(sentence)
        text = _clean_sentence(sentence)
        kinds = [kind for kind, _ in found]
        if "EDU" in kinds or "PRO" in kinds:
            schools = [t for k, t in found if k == "ORG" and re.search("大学|学院|学校", t)]
            degree = next((t for k, t in found if k == "EDU"), None)
            major = next((t for k, t in found if k == "PRO"), None)
            education.append({k: v for k, v in (("school", schools[0] if schools else None), ("degree", degree),
                                                ("major", major)) if v})
        orgs = [t for k, t in found if k == "ORG" and not re.search("大学|学院|学校", t)]
        roles = [t for k, t in found if k == "TITLE" and t not in ("中共党员", "党员")]
        if orgs and roles and text:
            entry: dict[str, Any] = {"company": orgs[0][:200], "title": roles[0][:200], "description": text[:160]}
            years = re.findall(r"(\d{4})年(?:(\d{1,2})月)?", text)
            if years:
                entry["start"] = years[0][0] + (f"-{int(years[0][1]):02d}" if years[0][1] else "")
                if "至今" in text or "现任" in text:
                    entry["end"] = "present"
                elif len(years) > 1:
                    end = years[1][0] + (f"-{int(years[1][1]):02d}" if years[1][1] else "")
                    if end >= entry["start"]:
                        entry["end"] = end
            experience.append(entry)
    if not experience:
        return None
    summary = "".join(_clean_sentence(s) for s in sentences)[:240]
    crm = {"id": f"resumener-{number}", "name": f"简历 {number}", "current_title": main_title[:200],
           "summary": summary, "experience": experience[:4], "education": education[:2],
           "location": None}
    label_text = " | ".join([*titles, *(t for k, t in entities if k == "PRO")])
    return {"id": crm["id"], "language": "zh", "source": "resumener", "family": family, "crm": crm,
            "label_text": label_text}


# --- composed Chinese tech profiles ------------------------------------------------------------
_PER_FAMILY = 6


def composed_talents(rng: random.Random) -> list[dict[str, Any]]:
    """Profiles a Chinese recruiter would hold for tech, product, HR and sales people. One in four
    holds part of its skills from a neighbouring family and one in six has moved on from its
    degree, so that a family does not read off its skills alone."""
    talents: list[dict[str, Any]] = []
    families = list(COMPOSED)
    for family in families:
        spec = COMPOSED[family]
        for index in range(_PER_FAMILY):
            count = rng.randint(3, min(9, len(spec["skills"])))
            skills = rng.sample(spec["skills"], count)
            if rng.random() < 0.25:
                neighbours = [f for f in families if frozenset((f, family)) in ADJACENT] or families
                other = COMPOSED[rng.choice(neighbours)]["skills"]
                skills = skills[:max(2, count // 2)] + rng.sample(other, min(3, len(other)))
            years = rng.choice((1, 2, 3, 4, 5, 6, 8, 10, 12))
            title = rng.choice(spec["titles"])
            end_year = 2026
            experience = []
            for step in range(rng.randint(1, 3)):
                start_year = end_year - rng.randint(1, 4)
                listed = "、".join(rng.sample(skills, min(3, len(skills))))
                experience.append({
                    "company": rng.choice(COMPANIES_ZH), "title": title if step == 0 else rng.choice(spec["titles"]),
                    "start": f"{start_year}-{rng.randint(1, 12):02d}",
                    "end": "present" if step == 0 else f"{end_year}-{rng.randint(1, 12):02d}",
                    "description": f"{rng.choice(spec['work'])}，使用{listed}。"})
                end_year = start_year
            major = MAJORS_ZH[family] if rng.random() > 1 / 6 else rng.choice(list(MAJORS_ZH.values()))
            crm = {
                "id": f"composed-{family}-{index}", "name": f"候选人 {family} {index}", "current_title": title,
                "location": rng.choice(CITIES_ZH), "years_of_experience": years,
                "skills": [{"name": s, "level": rng.choice((None, "intermediate", "advanced", "expert"))}
                           for s in skills],
                "experience": experience,
                "education": [{"school": rng.choice(SCHOOLS_ZH), "degree": rng.choice(("本科", "本科", "硕士", "大专")),
                               "major": major}],
                "expected_salary": {"min": rng.choice((12, 18, 25, 35, 50)) * 1000, "currency": "CNY",
                                    "period": "month"},
            }
            talents.append({"id": crm["id"], "language": "zh", "source": "composed", "family": family, "crm": crm,
                            "label_text": " | ".join([title, *skills])})
    return talents


def _has_term(text: str, term: str) -> bool:
    if term.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(term)}(?![a-z0-9])", text.lower()) is not None
    return term in text


def _write_lines(path: Path, records: list[dict[str, Any]]) -> None:
    body = ",\n".join(json.dumps(record, ensure_ascii=False, separators=(",", ":")) for record in records)
    path.write_text(f"[\n{body}\n]\n", encoding="utf-8")


if __name__ == "__main__":
    main()
