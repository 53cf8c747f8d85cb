"""The documentation site: `mkdocs build --strict` succeeds, no page links to a missing page or anchor, and a few
pages render in headless Chromium with their title (as report.html does in test_report_chromium.py)."""

import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytest.importorskip("mkdocs", reason="the docs extra is not installed (pip install -e '.[docs]')")
pytest.importorskip("material", reason="mkdocs-material is not installed (pip install -e '.[docs]')")
pytest.importorskip("mkdocstrings", reason="mkdocstrings is not installed (pip install -e '.[docs]')")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class _Page(HTMLParser):
    """The ids a page defines, the links it holds and the text of its first h1."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.h1 = ""
        self._in_h1 = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if tag == "a" and attributes.get("href") is not None:
            self.links.append(attributes["href"])
        if tag == "h1" and not self.h1:
            self._in_h1 = True

    def handle_endtag(self, tag):
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data):
        if self._in_h1:
            self.h1 += data


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)]
    done = subprocess.run(build, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    return out


def test_every_page_of_the_nav_is_built_with_generated_content(site):
    for page in ["index", "getting-started", "guide/strategies", "guides/index", "design", "benchmarks/ranking"]:
        assert (site / f"{page}.html").is_file(), page
    cli = (site / "reference" / "cli.html").read_text(encoding="utf-8")
    assert "--text-column" in cli and "transferkit rl pretrain" in cli  # every command and flag, from the app
    config = (site / "reference" / "config.html").read_text(encoding="utf-8")
    assert "optim.lr" in config and "--label-column" in config  # the RunSpec tables
    setfit = (site / "benchmarks" / "vs-setfit.html").read_text(encoding="utf-8")
    assert "0.774 ± 0.044" in setfit and "<!-- bench:" not in setfit  # rendered from vs_setfit.json
    design = (site / "design.html").read_text(encoding="utf-8")
    assert "workflows : ranking : adaptation : rl" in design  # the layers, read from .importlinter


def test_no_page_links_to_a_missing_page_or_anchor(site):
    pages = {path: parse(path) for path in site.rglob("*.html")}
    broken = []
    for path, page in pages.items():
        for href in page.links:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
                continue  # external: not checked offline
            if not parts.path:
                target = path
            elif parts.path.startswith("/"):  # site-absolute (the 404 page's links)
                target = (site / unquote(parts.path).lstrip("/")).resolve()
            else:
                target = (path.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{path.relative_to(site)}: {href} (no such file)")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{path.relative_to(site)}: {href} (no such anchor)")
    assert not broken, "\n".join(broken)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install -y chromium)")
@pytest.mark.parametrize(
    ("page", "title", "tab"),
    [
        ("index.html", "transferkit", "transferkit"),
        ("getting-started.html", "Getting started", "Getting started - transferkit"),
        ("reference/cli.html", "Command line", "Command line - transferkit"),
        ("benchmarks/vs-fastai.html", "transferkit vs fastai", "vs fastai - transferkit"),
    ],
)
def test_pages_render_in_headless_chromium_with_their_title(site, tmp_path, page, title, tab):
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--dump-dom",
    ]
    done = subprocess.run([CHROMIUM, *flags, (site / page).as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    rendered = _Page()
    rendered.feed(done.stdout)  # the DOM after the page's scripts ran
    assert rendered.h1.strip().rstrip("¶").strip() == title
    assert f"<title>{tab}</title>" in done.stdout  # the browser tab: the nav title and the site name
