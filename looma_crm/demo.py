"""The demo recruiting data: companies, jobs, talents, applications, notes and relationships.

Built in memory from a fixed random seed, so every run makes the same people with the same
histories; only ids and dates differ, as dates are placed relative to `now`. About
six talents in ten have Chinese-language profiles, the rest English ones. Skills come from the
shared taxonomy; a job's requirements are derived from its description unless it states them.
Emails are on example.com or .test domains; US and UK numbers are in the ranges kept for fiction.
Nothing here writes: looma_crm/cli.py stores it through the CRM's own code.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

from looma_crm.contacts import InvalidPhone, e164
from looma_crm.pipeline import OPEN_STAGES
from looma_crm.store import new_id
from shared.skills import load_taxonomy

SEED = 20_240_601
TALENTS = 2000  # applications, notes and relationships scale with it
DAY = 86_400.0

# --- companies ----------------------------------------------------------------------------------
# name, email domain, website, industry, size, location, description, hiring cities
COMPANIES: tuple[tuple[str, str, str, str, str, str, str, tuple[str, ...]], ...] = (
    ("字节跳动", "bytedance.test", "https://www.bytedance.com", "互联网", "10000人以上", "北京",
     "以推荐算法见长的内容平台公司，产品有抖音、今日头条和飞书。", ("北京", "上海", "深圳")),
    ("阿里巴巴", "alibaba.test", "https://www.alibabagroup.com", "电子商务", "10000人以上", "杭州",
     "电商、云计算与本地生活业务的综合集团。", ("杭州", "北京")),
    ("腾讯", "tencent.test", "https://www.tencent.com", "互联网", "10000人以上", "深圳",
     "社交、游戏、金融科技与云服务。", ("深圳", "北京", "上海")),
    ("美团", "meituan.test", "https://www.meituan.com", "本地生活", "10000人以上", "北京",
     "外卖、到店与酒旅等本地生活服务平台。", ("北京", "上海")),
    ("华为", "huawei.test", "https://www.huawei.com", "通信与终端", "10000人以上", "深圳",
     "通信网络、智能终端与云计算。", ("深圳", "杭州", "西安")),
    ("小米", "xiaomi.test", "https://www.mi.com", "消费电子", "10000人以上", "北京",
     "智能手机与智能家居生态。", ("北京", "武汉")),
    ("京东", "jd.test", "https://www.jd.com", "电子商务", "10000人以上", "北京",
     "自营电商与物流网络。", ("北京",)),
    ("百度", "baidu.test", "https://www.baidu.com", "互联网", "10000人以上", "北京",
     "搜索、人工智能与自动驾驶。", ("北京", "上海")),
    ("网易", "netease.test", "https://www.163.com", "互联网", "10000人以上", "杭州",
     "游戏、音乐与在线教育。", ("杭州", "广州")),
    ("拼多多", "pinduoduo.test", "https://www.pinduoduo.com", "电子商务", "10000人以上", "上海",
     "社交电商平台。", ("上海",)),
    ("蚂蚁集团", "antgroup.test", "https://www.antgroup.com", "金融科技", "10000人以上", "杭州",
     "支付宝与数字金融服务。", ("杭州", "上海")),
    ("携程", "trip.test", "https://www.trip.com", "在线旅游", "10000人以上", "上海",
     "在线旅游服务平台。", ("上海", "南京")),
    ("快手", "kuaishou.test", "https://www.kuaishou.com", "互联网", "10000人以上", "北京",
     "短视频与直播平台。", ("北京", "杭州")),
    ("滴滴出行", "didi.test", "https://www.didiglobal.com", "出行", "10000人以上", "北京",
     "网约车与出行服务。", ("北京", "杭州")),
    ("哔哩哔哩", "bilibili.test", "https://www.bilibili.com", "互联网", "5000-10000人", "上海",
     "年轻人聚集的视频社区。", ("上海",)),
    ("小红书", "xiaohongshu.test", "https://www.xiaohongshu.com", "互联网", "5000-10000人", "上海",
     "生活方式分享社区。", ("上海", "北京")),
    ("商汤科技", "sensetime.test", "https://www.sensetime.com", "人工智能", "1000-5000人", "上海",
     "计算机视觉与大模型。", ("上海", "深圳")),
    ("大疆创新", "dji.test", "https://www.dji.com", "智能硬件", "10000人以上", "深圳",
     "无人机与影像设备。", ("深圳",)),
    ("蔚来", "nio.test", "https://www.nio.com", "新能源汽车", "10000人以上", "上海",
     "智能电动汽车。", ("上海", "合肥")),
    ("比亚迪", "byd.test", "https://www.byd.com", "新能源汽车", "10000人以上", "深圳",
     "新能源汽车与动力电池。", ("深圳", "西安")),
    ("Microsoft", "microsoft.test", "https://www.microsoft.com", "Software", "10,000+", "Redmond, WA",
     "Cloud, productivity software and developer tools.", ("Seattle", "London", "Singapore")),
    ("Google", "google.test", "https://www.google.com", "Internet", "10,000+", "Mountain View, CA",
     "Search, ads, cloud and Android.", ("Mountain View", "London", "Singapore")),
    ("Amazon", "amazon.test", "https://www.amazon.com", "E-commerce and cloud", "10,000+", "Seattle, WA",
     "Online retail and Amazon Web Services.", ("Seattle", "London", "Singapore")),
    ("Apple", "apple.test", "https://www.apple.com", "Consumer electronics", "10,000+", "Cupertino, CA",
     "Phones, computers and the software on them.", ("San Francisco", "Austin", "London")),
    ("NVIDIA", "nvidia.test", "https://www.nvidia.com", "Semiconductors", "10,000+", "Santa Clara, CA",
     "GPUs and the software stack for accelerated computing.", ("San Francisco", "Austin", "Singapore")),
    ("SAP", "sap.test", "https://www.sap.com", "Enterprise software", "10,000+", "Walldorf, Germany",
     "Enterprise resource planning and business applications.", ("London", "Singapore", "New York")),
    ("Siemens", "siemens.test", "https://www.siemens.com", "Industrial technology", "10,000+", "Munich, Germany",
     "Automation, digital industries and smart infrastructure.", ("London", "Singapore", "Boston")),
    ("Shopee", "shopee.test", "https://shopee.com", "E-commerce", "10,000+", "Singapore",
     "Southeast Asia's e-commerce platform.", ("Singapore",)),
    ("Grab", "grab.test", "https://www.grab.com", "Ride-hailing and fintech", "5,000-10,000", "Singapore",
     "Rides, food delivery and payments across Southeast Asia.", ("Singapore",)),
    ("Salesforce", "salesforce.test", "https://www.salesforce.com", "Enterprise software", "10,000+",
     "San Francisco, CA", "Customer relationship management in the cloud.", ("San Francisco", "New York", "London")),
)
CHINESE_COMPANIES = tuple(range(20))
INTERNATIONAL_COMPANIES = tuple(range(20, len(COMPANIES)))


# --- the kinds of work people do ----------------------------------------------------------------
@dataclass(frozen=True)
class Family:
    """A line of work: its titles by level (junior, mid, senior, lead), skills, teams and duties."""

    weight: int
    titles_zh: tuple[str, str, str, str]
    titles_en: tuple[str, str, str, str]
    skills: tuple[str, ...]  # names looked up in the taxonomy; the first ones are the core
    work_zh: str
    work_en: str
    teams_zh: tuple[str, ...]
    teams_en: tuple[str, ...]
    duties_zh: tuple[str, ...]
    duties_en: tuple[str, ...]


FAMILIES: dict[str, Family] = {
    "backend": Family(
        25, ("初级后端工程师", "后端开发工程师", "资深后端工程师", "后端技术专家"),
        ("Junior Backend Engineer", "Backend Engineer", "Senior Backend Engineer", "Staff Software Engineer"),
        ("Java", "Spring Boot", "Go", "MySQL", "Redis", "Kafka", "Python", "Docker", "Kubernetes", "gRPC",
         "PostgreSQL", "Elasticsearch", "Linux", "Microservices", "Distributed Systems", "C++"),
        "后端开发", "backend development", ("交易平台", "基础架构", "广告系统", "支付中台", "用户增长"),
        ("Payments", "Core Platform", "Ads Infrastructure", "Marketplace", "Identity"),
        ("负责核心业务系统的设计与开发，保障高并发场景下的稳定性", "参与微服务拆分与服务治理", "优化数据库与缓存架构，提升系统性能",
         "编写技术方案并推动落地"),
        ("Design and build services that handle millions of requests a day",
         "Own the reliability and performance of the systems you ship", "Review designs and code with your peers",
         "Work with product managers to shape the roadmap")),
    "frontend": Family(
        15, ("初级前端工程师", "前端开发工程师", "高级前端开发工程师", "前端技术专家"),
        ("Junior Frontend Developer", "Frontend Engineer", "Senior Frontend Engineer", "Principal Frontend Engineer"),
        ("JavaScript", "TypeScript", "React", "Vue.js", "HTML", "CSS", "Node.js", "Webpack", "Next.js", "Angular",
         "GraphQL"),
        "前端开发", "frontend development", ("电商前端", "中后台", "数据可视化", "营销活动"),
        ("Web Platform", "Checkout", "Design Systems", "Growth"),
        ("负责Web端产品的开发与性能优化", "建设前端组件库与工程化体系", "与设计、后端紧密协作交付业务需求"),
        ("Build fast, accessible web applications", "Contribute to our shared component library",
         "Improve build tooling and developer experience")),
    "algorithm": Family(
        15, ("初级算法工程师", "算法工程师", "资深算法工程师", "算法专家"),
        ("Junior Machine Learning Engineer", "Machine Learning Engineer", "Senior Machine Learning Engineer",
         "Staff Research Scientist"),
        ("Python", "Machine Learning", "Deep Learning", "PyTorch", "TensorFlow", "Natural Language Processing",
         "Computer Vision", "Recommender Systems", "C++", "Spark", "Large Language Models"),
        "算法研发", "machine learning", ("推荐算法", "搜索算法", "大模型", "计算机视觉", "风控算法"),
        ("Recommendations", "Search Relevance", "Applied AI", "Trust and Safety"),
        ("负责推荐、搜索等核心场景的模型研发与迭代", "跟进业界前沿算法并在业务中落地", "设计离线与在线实验，评估模型效果"),
        ("Train and ship models that reach millions of users", "Run offline and online experiments",
         "Turn research ideas into production systems")),
    "data": Family(
        13, ("数据分析助理", "数据分析师", "高级数据分析师", "数据分析专家"),
        ("Junior Data Analyst", "Data Analyst", "Senior Data Analyst", "Analytics Lead"),
        ("SQL", "Python", "Data Analysis", "Excel", "Tableau", "Hive", "Spark", "Statistics", "A/B Testing",
         "Power BI", "Hadoop"),
        "数据分析", "analytics", ("商业分析", "用户增长", "经营分析", "数据平台"),
        ("Business Analytics", "Growth Analytics", "Finance Analytics", "Data Platform"),
        ("搭建业务指标体系与数据看板", "通过专题分析发现增长机会", "设计并评估A/B实验"),
        ("Build the metrics and dashboards the business runs on", "Design and read A/B experiments",
         "Turn questions from leadership into clear analyses")),
    "product": Family(
        12, ("产品助理", "产品经理", "高级产品经理", "产品总监"),
        ("Associate Product Manager", "Product Manager", "Senior Product Manager", "Director of Product"),
        ("Product Management", "User Research", "Data Analysis", "SQL", "Axure", "Figma", "Agile", "Scrum",
         "Project Management"),
        "产品设计", "product management", ("商业化产品", "用户产品", "B端产品", "增长产品"),
        ("Consumer Product", "Merchant Tools", "Developer Platform", "Growth"),
        ("负责产品规划与需求分析，输出产品方案", "协调研发、设计、运营推进项目上线", "通过数据分析持续优化产品体验"),
        ("Own the roadmap for a product area", "Talk to customers every week",
         "Work with engineering and design from idea to launch")),
    "mobile": Family(
        8, ("初级移动端工程师", "iOS开发工程师", "高级Android开发工程师", "移动端技术专家"),
        ("Junior Mobile Developer", "iOS Engineer", "Senior Android Engineer", "Mobile Tech Lead"),
        ("Swift", "iOS", "Objective-C", "Kotlin", "Android", "Java", "Flutter", "React Native"),
        "移动端开发", "mobile development", ("App基础架构", "直播客户端", "电商App"),
        ("Mobile Platform", "Rider App", "Consumer App"),
        ("负责App核心功能开发与性能优化", "建设客户端基础组件与发布体系"),
        ("Build features used by millions of people on their phones", "Keep the app fast and crash-free")),
    "devops": Family(
        7, ("运维工程师", "SRE工程师", "资深SRE工程师", "基础架构专家"),
        ("DevOps Engineer", "Site Reliability Engineer", "Senior Site Reliability Engineer",
         "Principal Infrastructure Engineer"),
        ("Linux", "Docker", "Kubernetes", "Terraform", "AWS", "Prometheus", "Ansible", "Jenkins", "Go", "Python",
         "Nginx"),
        "运维与稳定性保障", "infrastructure and reliability", ("云平台", "稳定性保障", "容器平台"),
        ("Cloud Infrastructure", "Reliability", "Developer Productivity"),
        ("负责线上系统的稳定性与容量规划", "建设自动化运维与监控告警体系"),
        ("Keep production healthy and boring", "Automate everything that gets done twice")),
    "qa": Family(
        5, ("测试工程师", "测试开发工程师", "高级测试开发工程师", "质量保障专家"),
        ("QA Engineer", "Software Engineer in Test", "Senior Software Engineer in Test", "QA Lead"),
        ("Selenium", "Python", "Java", "JMeter", "Appium", "pytest", "Postman", "Jenkins", "SQL"),
        "测试开发", "test automation", ("质量保障", "自动化测试平台"), ("Quality Engineering", "Test Platform"),
        ("设计并执行测试方案，保障版本质量", "建设自动化测试框架与持续集成"),
        ("Build the test frameworks our teams rely on", "Catch regressions before customers do")),
}

# --- people -------------------------------------------------------------------------------------
# Chinese names with their pinyin for email addresses, the most common first
SURNAMES = (("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
            ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
            ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"), ("高", "gao"),
            ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"),
            ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"), ("彭", "peng"),
            ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("潘", "pan"), ("袁", "yuan"),
            ("蔡", "cai"), ("蒋", "jiang"), ("余", "yu"), ("于", "yu"), ("杜", "du"), ("叶", "ye"), ("程", "cheng"),
            ("魏", "wei"), ("苏", "su"), ("吕", "lv"), ("丁", "ding"), ("沈", "shen"), ("姚", "yao"), ("钟", "zhong"),
            ("陆", "lu"), ("汪", "wang"), ("范", "fan"), ("金", "jin"), ("方", "fang"), ("欧阳", "ouyang"),
            ("上官", "shangguan"))
GIVEN_NAMES = (("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
               ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
               ("杰", "jie"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("霞", "xia"), ("平", "ping"),
               ("刚", "gang"), ("婷", "ting"), ("倩", "qian"), ("鹏", "peng"), ("斌", "bin"), ("凯", "kai"),
               ("晨", "chen"), ("宁", "ning"), ("秀英", "xiuying"), ("建华", "jianhua"), ("晓东", "xiaodong"),
               ("海燕", "haiyan"), ("志强", "zhiqiang"), ("子涵", "zihan"), ("浩然", "haoran"), ("宇轩", "yuxuan"),
               ("欣怡", "xinyi"), ("梓萱", "zixuan"), ("思远", "siyuan"), ("嘉怡", "jiayi"), ("俊杰", "junjie"),
               ("一鸣", "yiming"), ("雨桐", "yutong"), ("晨曦", "chenxi"), ("博文", "bowen"), ("诗涵", "shihan"),
               ("家豪", "jiahao"), ("文博", "wenbo"), ("佳琪", "jiaqi"), ("天宇", "tianyu"), ("梦琪", "mengqi"),
               ("昊天", "haotian"), ("雅婷", "yating"), ("明轩", "mingxuan"), ("欣然", "xinran"),
               ("泽宇", "zeyu"), ("静怡", "jingyi"), ("晓明", "xiaoming"), ("丽华", "lihua"), ("国庆", "guoqing"))
# English-language profiles: (weight, first names, last names), so that names go together
NAMES_EN = (
    (40, ("James", "Emily", "Oliver", "Charlotte", "Liam", "Sophia", "Noah", "Hannah", "Ethan", "Grace", "Daniel",
          "Olivia", "Benjamin", "Amelia", "Samuel", "Zoe", "David", "Rachel", "Thomas", "Laura", "Ryan", "Megan",
          "Jack", "Lucy", "Henry", "Chloe", "Matthew", "Ella", "Andrew", "Sarah"),
     ("Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Walker", "Wright", "Anderson", "Clarke",
      "Hughes", "O'Brien", "Murphy", "Bennett", "Campbell", "Roberts", "Cooper", "Mitchell", "Turner", "Parker",
      "Collins", "Edwards", "Stewart")),
    (20, ("Wei Jie", "Mei Ling", "Kevin", "Jessica", "Jason", "Michelle", "Eugene", "Joanne", "Marcus", "Charmaine",
          "Darren", "Rachel", "Benjamin", "Serene", "Jun Hao", "Hui Min"),
     ("Tan", "Lim", "Ng", "Lee", "Wong", "Chen", "Zhang", "Liu", "Goh", "Teo", "Chua", "Ong", "Koh", "Yeo", "Low")),
    (16, ("Priya", "Arjun", "Ananya", "Rahul", "Vikram", "Deepa", "Rohan", "Sneha", "Aditya", "Kavya", "Karthik",
          "Meera", "Siddharth", "Pooja", "Nikhil", "Divya"),
     ("Patel", "Sharma", "Singh", "Gupta", "Iyer", "Reddy", "Nair", "Menon", "Krishnan", "Rao", "Mehta", "Joshi",
      "Kapoor", "Bose")),
    (4, ("Siti", "Muhammad", "Nurul", "Farah", "Hafiz", "Aisyah", "Amir", "Zulkifli", "Hana", "Irfan"),
     ("Rahman", "Ismail", "Abdullah", "Hassan", "Yusof", "Aziz", "Ibrahim", "Osman")),
    (4, ("Min-jun", "Ji-woo", "Seo-yeon", "Hyun-woo", "Ji-hoon", "Soo-ah", "Do-yoon", "Ha-eun"),
     ("Kim", "Park", "Choi", "Jung", "Kang", "Yoon", "Lim", "Han")),
    (4, ("Hiroshi", "Yuki", "Haruto", "Aiko", "Kenji", "Sakura", "Takumi", "Yui"),
     ("Tanaka", "Sato", "Suzuki", "Watanabe", "Takahashi", "Ito", "Yamamoto", "Nakamura")),
    (6, ("Lukas", "Anna", "Felix", "Clara", "Jonas", "Lena", "Maximilian", "Sophie", "Paul", "Marie", "Niklas",
         "Laura"),
     ("Müller", "Schmidt", "Fischer", "Weber", "Becker", "Wagner", "Hoffmann", "Schulz", "Koch", "Richter")),
    (4, ("Mateo", "Sofia", "Isabella", "Diego", "Lucia", "Carlos", "Valentina", "Javier", "Camila", "Pablo"),
     ("Garcia", "Martinez", "Lopez", "Rodriguez", "Fernandez", "Sanchez", "Gomez", "Diaz", "Torres")),
    (2, ("Ahmed", "Fatima", "Omar", "Layla", "Youssef", "Nour", "Karim", "Leila"),
     ("Haddad", "Mansour", "Khalil", "Nasser", "Saleh", "Farouk", "Aziz", "Hamdan")),
)
# city: (weight, how people write where they live)
CITIES_ZH = {"北京": (25, ("北京市海淀区", "北京市朝阳区", "北京", "北京市昌平区")),
             "上海": (22, ("上海市浦东新区", "上海市徐汇区", "上海", "上海市闵行区")),
             "深圳": (15, ("深圳市南山区", "深圳市福田区", "深圳")), "杭州": (14, ("杭州市余杭区", "杭州市西湖区", "杭州")),
             "广州": (6, ("广州市天河区", "广州")), "成都": (5, ("成都市高新区", "成都")), "南京": (4, ("南京市鼓楼区", "南京")),
             "武汉": (4, ("武汉市洪山区", "武汉")), "西安": (3, ("西安市雁塔区", "西安")), "苏州": (2, ("苏州工业园区", "苏州"))}
# city: (weight, location, phone plan)
CITIES_EN = {"Singapore": (30, "Singapore", "SG"), "London": (16, "London, UK", "UK"),
             "Seattle": (12, "Seattle, WA", "US"), "San Francisco": (12, "San Francisco, CA", "US"),
             "New York": (8, "New York, NY", "US"), "Mountain View": (5, "Mountain View, CA", "US"),
             "Boston": (4, "Boston, MA", "US"), "Austin": (3, "Austin, TX", "US"),
             "Shanghai": (6, "Shanghai, China", "CN"), "Beijing": (4, "Beijing, China", "CN")}
US_AREA_CODES = ("206", "415", "212", "617", "650", "512", "646", "408")
UK_AREAS = ("20 7946", "161 496", "121 496", "113 496")  # Ofcom's numbers for drama
CN_MOBILE_PREFIXES = tuple(f"13{d}" for d in range(10)) + ("150", "151", "152", "153", "155", "156", "157", "158",
                                                            "159") + tuple(f"18{d}" for d in range(10))
SCHOOLS_ZH = ("清华大学", "北京大学", "复旦大学", "浙江大学", "上海交通大学", "中国科学技术大学", "南京大学", "武汉大学",
              "华中科技大学", "哈尔滨工业大学", "西安交通大学", "中山大学", "北京航空航天大学", "同济大学", "电子科技大学")
SCHOOLS_ABROAD_FOR_ZH = ("Carnegie Mellon University", "Columbia University", "University of Southern California",
                         "National University of Singapore", "Imperial College London")
SCHOOLS_EN = ("MIT", "Stanford University", "UC Berkeley", "Carnegie Mellon University", "National University of Singapore",
              "Nanyang Technological University", "Imperial College London", "University of Cambridge",
              "University of Oxford", "University of Toronto", "Georgia Institute of Technology",
              "University of Washington", "Technical University of Munich", "ETH Zurich", "University of Michigan")
MAJORS_ZH = {"product": ("信息管理与信息系统", "工业设计", "市场营销", "计算机科学与技术"),
             "data": ("统计学", "数学与应用数学", "经济学", "计算机科学与技术"),
             "algorithm": ("计算机科学与技术", "模式识别与智能系统", "数学与应用数学", "电子信息工程")}
MAJORS_EN = {"product": ("Business Administration", "Human-Computer Interaction", "Computer Science", "Economics"),
             "data": ("Statistics", "Mathematics", "Economics", "Data Science"),
             "algorithm": ("Computer Science", "Electrical Engineering", "Mathematics", "Machine Learning")}
DEFAULT_MAJORS_ZH = ("计算机科学与技术", "软件工程", "电子信息工程", "自动化", "通信工程")
DEFAULT_MAJORS_EN = ("Computer Science", "Software Engineering", "Electrical Engineering", "Computer Engineering")
TAGS_ZH = ("985", "211", "大厂背景", "海归", "可内推", "高潜", "管理经验", "开源贡献者", "急寻机会")
TAGS_EN = ("open-source", "ex-big-tech", "startup", "people-manager", "relocation-ok", "needs-visa", "silver-medalist",
           "remote-only", "speaker")
TALENT_SOURCES = (("upload", 30), ("import", 25), ("referral", 15), ("api", 10), ("linkedin", 20))
JOB_STATUSES = (("active", 20), ("open", 30), ("passive", 30), ("not_looking", 20))
APPLICATION_SOURCES = ("career_site", "referral", "linkedin", "job_board", "sourcing", "agency")
# How the applications end up, in shares; every stage is there at least once.
FINAL_STAGES = {"sourced": 0.14, "screening": 0.16, "interview": 0.16, "offer": 0.08, "hired": 0.08,
                "rejected": 0.28, "withdrawn": 0.10}
GAP_DAYS = {"screening": (1, 5), "interview": (2, 10), "offer": (3, 14), "hired": (2, 10), "rejected": (1, 10),
            "withdrawn": (1, 20), "sourced": (10, 30)}  # days before a move into the stage
RELATIONSHIP_TYPES = (("colleague", 45), ("friend", 20), ("mentor", 15), ("referral", 12), ("business_partner", 8))
REASONS_ZH = {"rejected": ("技术深度不足", "薪资期望不匹配", "岗位已招满", "沟通表达有待提高", "经验与岗位方向不符"),
              "withdrawn": ("接受了其他offer", "暂不考虑换工作", "通勤距离太远", "现公司加薪挽留")}
REASONS_EN = {"rejected": ("Not enough depth in system design", "Compensation expectations too far apart",
                           "Role filled by another candidate", "Experience does not match the team's focus"),
              "withdrawn": ("Accepted another offer", "Decided to stay with current employer",
                            "Relocation did not work out", "Paused job search")}
WRITTEN_IN_CHINESE = ("data/ML", "backend", "management", "methodology")  # taxonomy categories
NEXT_ACTIONS_ZH = {"sourced": "电话初步沟通", "screening": "安排技术一面", "interview": "收集面试官反馈",
                   "offer": "跟进offer意向"}
NEXT_ACTIONS_EN = {"sourced": "Intro call", "screening": "Schedule the technical screen",
                   "interview": "Collect interview feedback", "offer": "Follow up on the offer"}


# --- what the seed holds ------------------------------------------------------------------------
@dataclass
class Row:
    """One entity to store: its id, its body as the API takes it, and when it was created."""

    id: str
    body: dict[str, Any]
    at: float


@dataclass
class ApplicationRow(Row):
    moves: list[tuple[str, float, str | None]] = field(default_factory=list)  # (stage, at, reason) after creation


@dataclass
class DemoData:
    """Everything the demo holds, each list in the order it is to be stored (references point backwards)."""

    companies: list[Row]
    jobs: list[Row]
    talents: list[Row]
    applications: list[ApplicationRow]
    notes: list[Row]
    relationships: list[Row]


@dataclass
class _Person:
    """What the generator keeps about a talent beyond its body, to tie the rest of the data to it."""

    row: Row
    chinese: bool
    family: str
    employers: list[int]
    schools: list[str]
    skills: list[str]  # display names as the profile writes them


def build(now: float, talents: int = TALENTS, seed: int = SEED) -> DemoData:
    """The whole demo dataset: the same for the same seed and size, its timestamps placed before `now`."""
    if talents < 10:
        raise ValueError(f"the demo needs at least 10 talents to show every stage (asked for {talents})")
    rng = random.Random(seed)
    skills = _family_skills()
    companies = [_company(entry, now - rng.uniform(300, 400) * DAY) for entry in COMPANIES]
    jobs, job_meta = _jobs(rng, now, companies, skills)
    people = _talents(rng, now, talents, skills)
    applications = _applications(rng, now, people, jobs, job_meta, round(talents * 0.3))
    by_id = {p.row.id: p for p in people}
    for application in applications:
        if application.moves and application.moves[-1][0] == "hired":
            by_id[application.body["talent_id"]].row.body["job_status"] = "hired"
    notes = _notes(rng, now, people, applications, round(talents * 0.15))
    relationships = _relationships(rng, now, people, round(talents * 0.2))
    return DemoData(companies, jobs, [p.row for p in people], applications, notes, relationships)


def _family_skills() -> dict[str, list[Any]]:
    """Each family's skills as taxonomy entries; names the taxonomy does not know are left out."""
    taxonomy = load_taxonomy()
    found: dict[str, list[Any]] = {}
    for name, family in FAMILIES.items():
        known = [taxonomy.lookup(skill) for skill in family.skills]
        found[name] = list({s.id: s for s in known if s is not None}.values())
        if len(found[name]) < 3:
            raise RuntimeError(f"the skills taxonomy knows only {len(found[name])} of the {name} skills "
                               f"{', '.join(family.skills)}; the demo needs at least 3")
    return found


def _company(entry: tuple[str, ...], at: float) -> Row:
    name, _domain, website, industry, size, location, description, _cities = entry
    tags = ["大厂"] if "10000" in size else []
    tags += ["global"] if name.isascii() else []
    return Row(new_id(), {"name": name, "website": website, "industry": industry, "size": size,
                          "location": location, "description": description, "tags": tags}, at)


def _weighted(rng: random.Random, options: Any) -> Any:
    choices = list(options)
    return rng.choices([c[0] for c in choices], weights=[c[1] for c in choices])[0]


def _family(rng: random.Random) -> str:
    return _weighted(rng, ((name, f.weight) for name, f in FAMILIES.items()))


def _skill_name(skill: Any, chinese: bool) -> str:
    """How a profile writes the skill: Chinese ones name concepts in Chinese (机器学习) and tools as they are."""
    return skill.name_zh if chinese and skill.name_zh and skill.category in WRITTEN_IN_CHINESE else skill.name


# --- jobs ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _JobMeta:
    """What picking applicants for a job needs: its language, its line of work and its status."""

    chinese: bool
    family: str
    status: str


def _jobs(rng: random.Random, now: float, companies: list[Row], skills: dict[str, list[Any]]
          ) -> tuple[list[Row], list[_JobMeta]]:
    statuses = ["open"] * 34 + ["paused"] * 8 + ["closed"] * 8
    rng.shuffle(statuses)
    chinese_at = [*CHINESE_COMPANIES, *rng.sample(CHINESE_COMPANIES, 10)]  # every company has a job or two
    international_at = [*INTERNATIONAL_COMPANIES, *INTERNATIONAL_COMPANIES]
    rng.shuffle(chinese_at)
    rng.shuffle(international_at)
    rows, meta = [], []
    for index, status in enumerate(statuses):
        chinese = index % 5 < 3
        company = (chinese_at if chinese else international_at).pop()
        name, _domain, _site, _industry, _size, _location, _description, cities = COMPANIES[company]
        family_name = _family(rng)
        family = FAMILIES[family_name]
        level = _weighted(rng, ((1, 45), (2, 40), (3, 15)))
        title = (family.titles_zh if chinese else family.titles_en)[level]
        pool = skills[family_name]
        wanted = rng.sample(pool, min(len(pool), rng.randint(4, 6)))
        min_years = (1, 3, 5, 8)[level]
        locations = rng.sample(cities, min(len(cities), rng.randint(1, 2)))
        body: dict[str, Any] = {
            "title": title, "company_id": companies[company].id, "status": status, "locations": locations,
            "description": (_description_zh if chinese else _description_en)(rng, name, title, family, wanted,
                                                                             min_years),
            "remote": rng.random() < (0.05 if chinese else 0.2), "headcount": rng.randint(1, 4),
            "salary": _job_salary(level, chinese, locations[0]),
        }
        if index % 4 == 3:  # some jobs state their requirements instead of having them read from the text
            body["requirements"] = {
                "skills": [{"skill_id": s.id, "required": i < 2, "weight": 2.0 if i < 2 else 1.0}
                           for i, s in enumerate(wanted[:4])],
                "min_years": min_years, "education_level": "bachelor"}
        rows.append(Row(new_id(), body, now - rng.uniform(60, 200) * DAY))
        meta.append(_JobMeta(chinese, family_name, status))
    return rows, meta


def _description_zh(rng: random.Random, company: str, title: str, family: Family, wanted: list[Any],
                    min_years: int) -> str:
    names = [_skill_name(s, True) for s in wanted]
    duties = rng.sample(family.duties_zh, min(3, len(family.duties_zh)))
    return "\n".join([
        f"{company}{rng.choice(family.teams_zh)}团队诚聘{title}。", "", "岗位职责：",
        *(f"{i}. {duty}；" for i, duty in enumerate(duties, 1)), "", "任职要求：",
        f"1. 本科及以上学历，{min_years}年以上{family.work_zh}相关工作经验；",
        f"2. 精通{names[0]}，熟悉{'、'.join(names[1:3])}；",
        f"3. 有{'、'.join(names[3:]) or names[-1]}实践经验者优先；",
        "4. 良好的沟通能力与团队合作精神。"])


def _description_en(rng: random.Random, company: str, title: str, family: Family, wanted: list[Any],
                    min_years: int) -> str:
    names = [s.name for s in wanted]
    duties = rng.sample(family.duties_en, min(3, len(family.duties_en)))
    return "\n".join([
        f"{company} is hiring a {title} for the {rng.choice(family.teams_en)} team.", "", "What you'll do:",
        *(f"- {duty}" for duty in duties), "", "What we're looking for:",
        f"- {min_years}+ years of professional experience in {family.work_en}",
        f"- Strong {names[0]}; hands-on experience with {' and '.join(names[1:3])}",
        f"- Bonus: {', '.join(names[3:]) or names[-1]}",
        "- Clear written communication"])


def _job_salary(level: int, chinese: bool, city: str) -> dict[str, Any]:
    if chinese:
        low, high = ((12, 20), (20, 35), (35, 60), (50, 90))[level]
        return {"min": low * 1000, "max": high * 1000, "currency": "CNY", "period": "month"}
    currency = {"Singapore": "SGD", "London": "GBP"}.get(city, "USD")
    scale = {"SGD": 0.75, "GBP": 0.55, "USD": 1.0}[currency]
    low, high = ((90, 130), (130, 180), (170, 240), (220, 320))[level]
    return {"min": round(low * scale) * 1000, "max": round(high * scale) * 1000, "currency": currency,
            "period": "year"}


# --- talents ------------------------------------------------------------------------------------
def _talents(rng: random.Random, now: float, count: int, skills: dict[str, list[Any]]) -> list[_Person]:
    chinese_count = round(count * 0.6)
    languages = [True] * chinese_count + [False] * (count - chinese_count)
    rng.shuffle(languages)
    # A quarter joined in the last 90 days; the rest over the two years before. Stored oldest first.
    ages = sorted((rng.uniform(1, 90) if rng.random() < 0.25 else rng.uniform(90, 730)) * DAY for _ in range(count))
    taken = _Taken()
    today = datetime.fromtimestamp(now, UTC)
    return [_person(rng, now - age, chinese, today, skills, taken)
            for chinese, age in zip(languages, reversed(ages), strict=True)]


@dataclass
class _Taken:
    """What earlier talents use, so that no two demo people look like duplicates of each other."""

    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    employers_by_name: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))


def _name(rng: random.Random, chinese: bool) -> tuple[str, str]:
    """A name and the handle of its email address."""
    if chinese:
        (surname, surname_pinyin), (given, given_pinyin) = _common_first(rng, SURNAMES), _common_first(rng, GIVEN_NAMES)
        return surname + given, rng.choice((f"{surname_pinyin}{given_pinyin}", f"{given_pinyin}.{surname_pinyin}",
                                            f"{surname_pinyin}.{given_pinyin}"))
    firsts, lasts = _weighted(rng, ((names[1:], names[0]) for names in NAMES_EN))
    first, last = rng.choice(firsts), rng.choice(lasts)
    return f"{first} {last}", f"{first}.{last}".lower().replace(" ", "").replace("'", "").replace("ü", "ue")


def _person(rng: random.Random, at: float, chinese: bool, today: datetime, skills: dict[str, list[Any]],
            taken: _Taken) -> _Person:
    family_name = _family(rng)
    family = FAMILIES[family_name]
    years = round(min(25.0, max(0.5, rng.gammavariate(2.2, 2.6))) * 2) / 2
    if chinese:
        city = _weighted(rng, ((c, w) for c, (w, _) in CITIES_ZH.items()))
        location, plan = rng.choice(CITIES_ZH[city][1]), "CN"
        pool = [*CHINESE_COMPANIES, *(c for c in INTERNATIONAL_COMPANIES if rng.random() < 0.15)]
    else:
        city = _weighted(rng, ((c, w) for c, (w, _, _) in CITIES_EN.items()))
        _, location, plan = CITIES_EN[city]
        pool = list(INTERNATIONAL_COMPANIES)
    career_start = today.year * 12 + today.month - 1 - max(6, round(years * 12))  # in months since year 0
    experience, employers = _experience(rng, chinese, family, career_start, today, pool)
    graduated = career_start // 12 if career_start % 12 >= 6 else career_start // 12 - 1
    education, schools = _education(rng, chinese, family_name, graduated)
    mine = rng.sample(skills[family_name], min(len(skills[family_name]), rng.randint(3, 10)))
    named = [_skill_name(s, chinese) for s in mine]
    name, handle = _name(rng, chinese)
    while taken.employers_by_name[name] & set(employers):  # the same name at the same employer: a duplicate
        name, handle = _name(rng, chinese)
    taken.employers_by_name[name].update(employers)
    emails = [_email(rng, handle, "example.com", taken.emails)]
    if rng.random() < 0.3:
        emails.append(_email(rng, handle, COMPANIES[employers[0]][1], taken.emails))
    body: dict[str, Any] = {
        "name": name, "emails": emails, "phones": [_phone(rng, plan, taken.phones)], "location": location,
        "current_title": experience[0]["title"], "current_company": experience[0]["company"],
        "summary": _summary(rng, chinese, family, years, experience, named), "years_of_experience": years,
        "experience": experience, "education": education,
        "skills": [_skill_entry(rng, s, chinese, years) for s in mine],
        "languages": _languages(rng, chinese, city), "expected_salary": _expected_salary(rng, chinese, years, city),
        "job_status": _weighted(rng, JOB_STATUSES),
        "tags": rng.sample(TAGS_ZH if chinese else TAGS_EN, rng.choice((0, 1, 1, 2, 2, 3))),
        "source": _weighted(rng, TALENT_SOURCES if chinese else
                            (("linkedin", 45), ("upload", 20), ("referral", 15), ("import", 10), ("api", 10))),
    }
    return _Person(Row(new_id(), body, at), chinese, family_name, employers, schools, named)


def _common_first(rng: random.Random, names: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    """A name from a list ordered by how common it is: 王 and 李 far more often than 上官."""
    return rng.choices(names, cum_weights=_CUMULATIVE[len(names)])[0]


_CUMULATIVE = {n: list(accumulate(1 / (rank + 8) for rank in range(n))) for n in (len(SURNAMES), len(GIVEN_NAMES))}


def _level(years: float) -> int:
    return 0 if years < 2 else 1 if years < 5 else 2 if years < 9 else 3


def _experience(rng: random.Random, chinese: bool, family: Family, career_start: int, today: datetime,
                pool: list[int]) -> tuple[list[dict[str, Any]], list[int]]:
    """1-3 jobs filling the career from `career_start` (a month count) to now, newest first, the first current."""
    months = today.year * 12 + today.month - 1 - career_start
    count = 1 if months < 30 else rng.randint(1, 2) if months < 72 else rng.randint(2, 3)
    share = months / count
    starts = [0, *(round(i * share + rng.uniform(-share, share) / 4) for i in range(1, count))]
    employers = rng.sample(pool, count)
    titles = family.titles_zh if chinese else family.titles_en
    entries = []
    for index, (start, company) in enumerate(zip(starts, employers, strict=True)):
        last = index + 1 == count
        entries.append({
            "company": COMPANIES[company][0], "title": titles[_level((months if last else start) / 12)],
            "start": _month(career_start + start),
            "end": "present" if last else _month(career_start + starts[index + 1] - rng.randint(0, 1)),
            "description": _duty(rng, chinese, family),
        })
    return entries[::-1], employers[::-1]


def _duty(rng: random.Random, chinese: bool, family: Family) -> str:
    duties = rng.sample(family.duties_zh if chinese else family.duties_en, 2)
    return ("；".join(duties) + "。") if chinese else ". ".join(duties) + "."


def _month(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _education(rng: random.Random, chinese: bool, family: str, graduated: int
               ) -> tuple[list[dict[str, Any]], list[str]]:
    further = rng.random() < (0.6 if family == "algorithm" else 0.3)
    doctorate = family == "algorithm" and further and rng.random() < 0.15
    extra_years = 5 if doctorate else (3 if chinese else 2) if further else 0
    bachelor_end = graduated - extra_years
    if chinese:
        majors = MAJORS_ZH.get(family, DEFAULT_MAJORS_ZH)
        first = {"school": rng.choice(SCHOOLS_ZH), "degree": "本科", "major": rng.choice(majors),
                 "start": f"{bachelor_end - 4}-09", "end": f"{bachelor_end}-07"}
    else:
        majors = MAJORS_EN.get(family, DEFAULT_MAJORS_EN)
        first = {"school": rng.choice(SCHOOLS_EN), "degree": "B.S.", "major": rng.choice(majors),
                 "start": f"{bachelor_end - 4}-09", "end": f"{bachelor_end}-06"}
    entries = [first]
    if further:
        abroad = chinese and rng.random() < 0.25
        school = rng.choice(SCHOOLS_ABROAD_FOR_ZH if abroad else SCHOOLS_ZH if chinese else SCHOOLS_EN)
        degree = ("博士" if doctorate else "硕士") if chinese and not abroad else "Ph.D." if doctorate else "M.S."
        entries.append({"school": school, "degree": degree, "major": rng.choice(majors),
                        "start": f"{bachelor_end}-09", "end": f"{graduated}-06"})
    return entries[::-1], [e["school"] for e in entries]


def _skill_entry(rng: random.Random, skill: Any, chinese: bool, years: float) -> dict[str, Any]:
    held = round(rng.uniform(min(0.5, years), years) * 2) / 2
    level = "beginner" if held < 1 else "intermediate" if held < 3 else "advanced" if held < 6 else "expert"
    return {"skill_id": skill.id, "name": _skill_name(skill, chinese), "level": level, "years": held}


def _email(rng: random.Random, handle: str, domain: str, used: set[str]) -> str:
    address = f"{handle}@{domain}"
    while address in used:
        address = f"{handle}{rng.randint(1, 999)}@{domain}"
    used.add(address)
    return address


def _phone(rng: random.Random, plan: str, used: set[str]) -> str:
    while True:
        if plan == "CN":
            number = f"+86 {rng.choice(CN_MOBILE_PREFIXES)} {rng.randint(0, 9999):04d} {rng.randint(0, 9999):04d}"
        elif plan == "US":
            number = f"+1 {rng.choice(US_AREA_CODES)} 555 01{rng.randint(0, 99):02d}"
        elif plan == "UK":
            number = f"+44 {rng.choice(UK_AREAS)} {rng.randint(0, 999):04d}"
        else:
            number = f"+65 {rng.choice('89')}{rng.randint(0, 999):03d} {rng.randint(0, 9999):04d}"
        try:
            normalised = e164(number)
        except InvalidPhone:
            continue
        if normalised not in used:
            used.add(normalised)
            return number


def _summary(rng: random.Random, chinese: bool, family: Family, years: float, experience: list[dict[str, Any]],
             skills: list[str]) -> str:
    current, before = experience[0], [e["company"] for e in experience[1:]]
    if chinese:
        text = f"{years:g}年{family.work_zh}经验，现任{current['company']}{current['title']}。"
        if before:
            text += f"曾就职于{'、'.join(before)}。"
        text += f"熟悉{'、'.join(skills[:4])}。" + rng.choice((
            "注重代码质量与工程效率。", "有从0到1搭建系统的经验。", "带过3-5人的小团队。", "希望在更大的平台上发挥价值。",
            "对技术有热情，乐于分享。"))
        return text
    text = f"{current['title']} at {current['company']} with {years:g} years in {family.work_en}."
    if before:
        text += f" Previously at {', '.join(before)}."
    text += f" Strong in {', '.join(skills[:4])}. " + rng.choice((
        "Cares about shipping quality software quickly.", "Has led small teams through major launches.",
        "Enjoys mentoring and writing design docs.", "Looking for a team with a strong engineering culture.",
        "Comfortable working across time zones."))
    return text


def _languages(rng: random.Random, chinese: bool, city: str) -> list[str]:
    if chinese:
        return ["中文", "英语"] + (["日语"] if rng.random() < 0.08 else [])
    spoken = ["English"]
    if city in ("Singapore", "Shanghai", "Beijing") or rng.random() < 0.15:
        spoken.append("Mandarin")
    if rng.random() < 0.2:
        spoken.append(rng.choice(("Malay", "Hindi", "Spanish", "German", "French", "Japanese", "Korean")))
    return spoken


def _expected_salary(rng: random.Random, chinese: bool, years: float, city: str) -> dict[str, Any]:
    if chinese or city in ("Shanghai", "Beijing"):
        low = round((10 + years * rng.uniform(3, 5.5)) * 1000, -3)
        return {"min": low, "max": round(low * rng.uniform(1.2, 1.5), -3), "currency": "CNY", "period": "month"}
    currency = {"Singapore": "SGD", "London": "GBP"}.get(city, "USD")
    base = {"SGD": 60_000, "GBP": 45_000, "USD": 90_000}[currency]
    low = round(base * (1 + years * rng.uniform(0.08, 0.14)), -3)
    return {"min": low, "max": round(low * rng.uniform(1.1, 1.3), -3), "currency": currency, "period": "year"}


# --- the pipeline -------------------------------------------------------------------------------
def _final_stages(rng: random.Random, count: int) -> list[str]:
    """Where each application ends up: every stage once, the rest in FINAL_STAGES' shares, shuffled."""
    stages = list(FINAL_STAGES) + rng.choices(list(FINAL_STAGES), weights=list(FINAL_STAGES.values()),
                                              k=max(0, count - len(FINAL_STAGES)))
    rng.shuffle(stages)
    return stages


def _path(rng: random.Random, final: str) -> list[str]:
    """The stages an application went through to end in `final`, its first one where it was created."""
    if final in ("rejected", "withdrawn"):
        reached = _weighted(rng, (("sourced", 25), ("screening", 35), ("interview", 30), ("offer", 10)))
        return [*_path(rng, reached), final]
    if final == "hired":
        return [*_path(rng, "offer"), "hired"]
    roll = rng.random()
    if final == "sourced":
        return ["sourced", "withdrawn", "sourced"] if roll < 0.1 else ["sourced"]
    if final == "screening":
        return ["sourced", "rejected", "screening"] if roll < 0.1 else ["screening"] if roll < 0.35 else \
            ["sourced", "screening"]
    if final == "interview":
        return ["sourced", "interview"] if roll < 0.2 else [*_path(rng, "screening"), "interview"]
    return [*_path(rng, "interview"), "offer"]


def _applications(rng: random.Random, now: float, people: list[_Person], jobs: list[Row], meta: list[_JobMeta],
                  count: int) -> list[ApplicationRow]:
    seasoned = [p for p in people if p.row.at < now - 14 * DAY] or people
    by_kind: dict[tuple[bool, str], list[_Person]] = defaultdict(list)
    for person in seasoned:
        by_kind[(person.chinese, person.family)].append(person)
    weights = [{"open": 3.0, "paused": 1.5, "closed": 1.0}[m.status] for m in meta]
    taken: set[tuple[str, str]] = set()
    rows = []
    for final in _final_stages(rng, count):
        while True:
            job_index = rng.choices(range(len(jobs)), weights=weights)[0]
            job_meta = meta[job_index]
            matching = by_kind.get((job_meta.chinese, job_meta.family)) if rng.random() < 0.85 else None
            person = rng.choice(matching or seasoned)
            if (person.row.id, jobs[job_index].id) not in taken:
                break
        taken.add((person.row.id, jobs[job_index].id))
        stages = _path(rng, final)
        start = max(now - 88 * DAY, person.row.at, jobs[job_index].at) + 3600
        times = _times(rng, stages, start, now - 3600)
        reasons = REASONS_ZH if job_meta.chinese else REASONS_EN
        moves = [(stage, at, rng.choice(reasons[stage]) if stage in reasons else None)
                 for stage, at in zip(stages[1:], times[1:], strict=True)]
        body: dict[str, Any] = {"talent_id": person.row.id, "job_id": jobs[job_index].id, "stage": stages[0],
                                "source": rng.choice(APPLICATION_SOURCES)}
        if final in OPEN_STAGES and rng.random() < 0.4:
            action = (NEXT_ACTIONS_ZH if job_meta.chinese else NEXT_ACTIONS_EN)[final]
            due = datetime.fromtimestamp(now + rng.uniform(0.5, 14) * DAY, UTC).replace(microsecond=0)
            body["next_action"] = {"description": action, "due": due.isoformat().replace("+00:00", "Z")}
        rows.append(ApplicationRow(new_id(), body, times[0], moves))
    return rows


def _times(rng: random.Random, stages: list[str], start: float, end: float) -> list[float]:
    """When the application was created and each move made: gaps of a few days, all inside [start, end]."""
    gaps = [rng.uniform(*GAP_DAYS[stage]) * DAY for stage in stages[1:]]
    room, total = max(end - start, 3600.0), sum(gaps)
    if total > room * 0.9:  # someone who joined recently moved faster
        gaps, total = [g * room * 0.9 / total for g in gaps], room * 0.9
    at = start + rng.uniform(0, room - total)
    times = [at]
    for gap in gaps:
        at += gap
        times.append(at)
    return times


# --- notes and relationships --------------------------------------------------------------------
NOTES_ZH = (("call", "电话沟通：目前在{company}负责{work}，对新机会持开放态度，一个月内可到岗。"),
            ("note", "技术背景扎实，{skill}经验丰富，适合推荐给{work}方向的岗位。"),
            ("email", "已发送岗位JD，候选人表示本周内回复。"),
            ("meeting", "线下咖啡交流，候选人更关注团队技术氛围和成长空间。"),
            ("task", "两周后再跟进一次，确认求职意向。"),
            ("call", "候选人暂不考虑机会，半年后再联系。"))
NOTES_EN = (("call", "Phone call: currently doing {work} at {company}; open to a move, four weeks' notice."),
            ("note", "Solid background; deep {skill} experience. A good fit for {work} roles."),
            ("email", "Sent over the job description; they will reply by the end of the week."),
            ("meeting", "Coffee chat: cares most about team culture and room to grow."),
            ("task", "Follow up in two weeks to confirm interest."),
            ("call", "Not looking right now; reconnect in six months."))
STAGE_NOTES_ZH = {"screening": "简历初筛通过：{skill}经验与岗位匹配。", "interview": "面试反馈：基础扎实，{skill}掌握较好，建议进入下一轮。",
                  "offer": "Offer沟通：候选人对薪资结构有疑问，已约HR进一步说明。", "hired": "候选人已接受offer，预计下月入职。",
                  "rejected": "面试未通过，已电话告知候选人，保留人才库。", "withdrawn": "候选人主动退出流程。",
                  "sourced": "主动搜寻到的候选人，已发送沟通邀请。"}
STAGE_NOTES_EN = {"screening": "Passed the resume screen: {skill} experience matches the role.",
                  "interview": "Interview feedback: strong fundamentals, good {skill}; move to the next round.",
                  "offer": "Offer call: questions about equity; HR to follow up.",
                  "hired": "Accepted the offer; starts next month.",
                  "rejected": "Did not pass the onsite; told the candidate by phone, kept in the talent pool.",
                  "withdrawn": "Candidate withdrew from the process.",
                  "sourced": "Sourced; sent an intro message."}


def _notes(rng: random.Random, now: float, people: list[_Person], applications: list[ApplicationRow],
           count: int) -> list[Row]:
    by_id = {p.row.id: p for p in people}
    rows = []
    for index in range(count):
        if index % 3 == 2 and applications:  # a third are about an application, the rest about a talent
            application = rng.choice(applications)
            person = by_id[application.body["talent_id"]]
            stage, at, _ = application.moves[-1] if application.moves else (application.body["stage"],
                                                                             application.at, None)
            template = (STAGE_NOTES_ZH if person.chinese else STAGE_NOTES_EN)[stage]
            body = {"subject_type": "application", "subject_id": application.id, "kind": "note",
                    "body": template.format(skill=rng.choice(person.skills))}
            rows.append(Row(new_id(), body, min(now - 60, at + rng.uniform(0.1, 2) * DAY)))
            continue
        person = rng.choice(people)
        kind, template = rng.choice(NOTES_ZH if person.chinese else NOTES_EN)
        family = FAMILIES[person.family]
        text = template.format(company=person.row.body["current_company"], skill=rng.choice(person.skills),
                               work=family.work_zh if person.chinese else family.work_en)
        body = {"subject_type": "talent", "subject_id": person.row.id, "kind": kind, "body": text}
        rows.append(Row(new_id(), body, rng.uniform(person.row.at, now - 60)))
    return rows


def _relationships(rng: random.Random, now: float, people: list[_Person], count: int) -> list[Row]:
    """Mostly between people who worked at the same company, some between people who studied together,
    the rest between people who know each other some other way."""
    colleagues, classmates = _groups(people, lambda p: p.employers), _groups(people, lambda p: p.schools)
    taken: set[tuple[str, str, str]] = set()
    rows = []
    while len(rows) < count:
        kind = _weighted(rng, RELATIONSHIP_TYPES)
        note = None
        if colleagues and (kind in ("colleague", "mentor") or rng.random() < 0.4):
            employer = rng.choice(sorted(colleagues))
            source, target = rng.sample(colleagues[employer], 2)
            company = COMPANIES[employer][0]
            note = f"在{company}共事" if source.chinese else f"Worked together at {company}"
        elif classmates and kind == "friend" and rng.random() < 0.5:
            school = rng.choice(sorted(classmates))
            source, target = rng.sample(classmates[school], 2)
            note = f"{school}同学" if source.chinese else f"Studied together at {school}"
        else:
            source, target = rng.sample(people, 2)
        if kind == "mentor" and source.row.body["years_of_experience"] < target.row.body["years_of_experience"]:
            source, target = target, source
        if (source.row.id, target.row.id, kind) in taken:
            continue
        taken.add((source.row.id, target.row.id, kind))
        body: dict[str, Any] = {"source_id": source.row.id, "target_id": target.row.id, "type": kind,
                                "strength": round(rng.uniform(0.4, 0.95) if note else rng.uniform(0.1, 0.8), 2)}
        if note:
            body["note"] = note
        rows.append(Row(new_id(), body, rng.uniform(max(source.row.at, target.row.at), now - 60)))
    return rows


def _groups(people: list[_Person], places: Callable[[_Person], list[Any]]) -> dict[Any, list[_Person]]:
    """The people of each place (an employer, a school) that has more than one of them."""
    members: dict[Any, list[_Person]] = defaultdict(list)
    for person in people:
        for place in dict.fromkeys(places(person)):
            members[place].append(person)
    return {place: group for place, group in members.items() if len(group) > 1}
