#!/usr/bin/env python3
"""ui_check.py -- drives the dashboard (GET /ui) in headless Chromium for
ui_spec.lua, in steps the spec paces through files in DIR:

    ui_check.py URL DIR

 1. load the page; wait until it shows 2 live peers; write DIR/ok1
 2. wait for DIR/go2 (the spec broadcasts); wait until "messages received"
    grows; write DIR/ok2
 3. wait for DIR/go3 (the spec stops a peer); wait until 1 live peer;
    save DIR/shot.png; write DIR/ok3
Then writes DIR/result.json: the browser's console entries (severe ones
fail the spec) and what the page showed. Every wait is bounded (20 s)."""
import json
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

url, work = sys.argv[1], sys.argv[2]


def mark(name):
    with open(os.path.join(work, name), "w") as f:
        f.write("1")


def wait(pred, what, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            v = pred()
            if v:
                return v
        except Exception:  # the page is between two renders
            pass
        time.sleep(0.1)
    raise SystemExit("timed out waiting for " + what)


opts = Options()
for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--window-size=1280,900"):
    opts.add_argument(a)
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
result = {}
try:
    driver.get(url)
    text = lambda i: driver.find_element("id", i).text
    wait(lambda: text("peer-count") == "2", "2 live peers")
    result["node_id"] = text("node-id")
    result["rows"] = len(driver.find_elements("css selector", "#peers tbody tr"))
    # the peers' own views (GET /ui/cluster) drawn: each peer lists the other
    result["view_lines"] = wait(
        lambda: len(driver.find_elements("css selector", "#graph line.view")), "the views drawn")
    received = int(text("received"))
    mark("ok1")
    wait(lambda: os.path.exists(os.path.join(work, "go2")), "go2")
    wait(lambda: int(text("received")) > received, "more messages received")
    result["types"] = [r.text for r in driver.find_elements("css selector", "#types tbody tr")]
    mark("ok2")
    wait(lambda: os.path.exists(os.path.join(work, "go3")), "go3")
    wait(lambda: text("peer-count") == "1", "1 live peer", 30)
    driver.save_screenshot(os.path.join(work, "shot.png"))
    result["dead"] = text("dead-count")
    mark("ok3")
    result["console"] = driver.get_log("browser")
finally:
    driver.quit()
    with open(os.path.join(work, "result.json"), "w") as f:
        json.dump(result, f)
