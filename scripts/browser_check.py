"""Opens an HTML report in headless Chromium (Debian's package, no network) and checks
that every image loaded and that the page logged no console errors; saves a screenshot.

Usage: python browser_check.py REPORT.html SCREENSHOT.png
Exit status 0 when the page is clean; otherwise prints what is wrong and exits 1.
"""
import sys

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def main():
    report, screenshot = sys.argv[1], sys.argv[2]
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url[:80]}"))
        page.goto("file://" + report, wait_until="load")
        images = page.evaluate(
            "Array.from(document.images).map(i => ({alt: i.alt, ok: i.complete && i.naturalWidth > 0}))"
        )
        broken = [i["alt"] for i in images if not i["ok"]]
        if not images:
            problems.append("the page has no images")
        problems += [f"broken image: {alt}" for alt in broken]
        page.screenshot(path=screenshot, full_page=False)
        browser.close()
    print(f"{len(images)} images, {len(broken)} broken; screenshot: {screenshot}")
    for p_ in problems:
        print(p_)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
