"""Scrapy settings: polite by default.

Override per run with `-s NAME=value` (the runner passes the data directory, archive and mode this way).
"""

BOT_NAME = "football_pipeline"
SPIDER_MODULES = ["football_pipeline.scraping.spiders"]
NEWSPIDER_MODULE = "football_pipeline.scraping.spiders"

# Who we are: every spider sends "football-pipeline/<version> (+SCRAPER_CONTACT)". Set SCRAPER_CONTACT
# (an e-mail address or URL where the site can reach you) for your deployment.
SCRAPER_CONTACT = "https://github.com/football-pipeline/football-pipeline"

ROBOTSTXT_OBEY = True
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

# One request at a time per site, a delay between requests, and AutoThrottle on top.
CONCURRENT_REQUESTS = 4
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
# Hard floors between request starts, per host. FBref bans for a day past 10 requests a minute.
DOMAIN_MIN_INTERVAL = {"fbref.com": 6.5, "www.football-data.co.uk": 1.0, "understat.com": 1.0}
FBREF_MIN_DELAY = 6.5
DOWNLOAD_TIMEOUT = 60

# Retries: 429 and 5xx, exponential backoff (base * 2^n, capped), honouring Retry-After.
RETRY_ENABLED = True
RETRY_TIMES = 4
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
RETRY_BACKOFF_BASE = 5.0
RETRY_BACKOFF_MAX = 300.0
RETRY_AFTER_MAX = 3600.0

DOWNLOADER_MIDDLEWARES = {
    "football_pipeline.scraping.middlewares.ReplayMiddleware": 60,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "football_pipeline.scraping.middlewares.PoliteRetryMiddleware": 550,
    "football_pipeline.scraping.middlewares.BlockDetectionMiddleware": 570,
    "football_pipeline.scraping.middlewares.ArchiveMiddleware": 950,
}
ITEM_PIPELINES = {
    "football_pipeline.scraping.pipelines.DataDirectoryPipeline": 300,
}
EXTENSIONS = {
    "football_pipeline.scraping.pipelines.CrawlReport": 500,
}

# Where things go (the runner sets them; these defaults suit `scrapy crawl` from the project root).
SOURCE_MODE = "live"  # live | replay
DATA_DIR = ".state/scraped"
ARCHIVE_DIR = ".state/archive"
CRAWL_REPORT_PATH = ""

# Site roots (tests point them at a local server).
FOOTBALL_DATA_BASE_URL = "https://www.football-data.co.uk"
UNDERSTAT_BASE_URL = "https://understat.com"
FBREF_BASE_URL = "https://fbref.com"

# HTTP cache for development only: `-s HTTPCACHE_ENABLED=True` (cached answers are not archived again).
HTTPCACHE_ENABLED = False
HTTPCACHE_DIR = "httpcache"
HTTPCACHE_EXPIRATION_SECS = 86400

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
