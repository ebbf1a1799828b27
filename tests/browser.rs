//! The HTML report and the SVG diagram in a real browser: headless Chromium
//! (Debian's `chromium`) renders them offline and takes screenshots. The
//! test fails on any console message (the page has no script, so a message
//! is a blocked load, a CSP violation or a parse error), on a blank
//! screenshot (decoded here and counted for dark pixels), on a diagram whose
//! rendered box has no size, and on any resource the page tried to load.
//! The size and the loads are read from the DOM (`--dump-dom`) of a copy of
//! the page with a probe script appended (the report's own policy forbids
//! scripts, so the copy drops it). Without Chromium the test is skipped,
//! unless `SEM_REQUIRE_BROWSER=1` (set by `.ci/run`) makes that a failure.

mod common;

use common::{scratch, sem, stderr};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p).display().to_string()
}

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
        for name in ["chromium", "chromium-browser"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    assert!(
        std::env::var("SEM_REQUIRE_BROWSER").map_or(true, |v| v != "1"),
        "SEM_REQUIRE_BROWSER=1 but chromium is not installed"
    );
    eprintln!("skipped: chromium not installed");
    None
}

/// Run headless Chromium on `url` with a fresh profile; returns (stdout, stderr).
fn run_chromium(bin: &Path, dir: &Path, extra: &[&str], url: &str) -> (String, String) {
    let profile = tempdir(dir, "profile");
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(url.to_string());
    let o = Command::new(bin).args(&args).output().expect("run chromium");
    let _ = std::fs::remove_dir_all(&profile);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "chromium failed on {url}: {err}");
    (out, err)
}

fn tempdir(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

/// Console messages in Chromium's log (`INFO:CONSOLE...] "message", source: ...`).
fn console_lines(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

/// Decode an 8-bit RGB or RGBA PNG: (width, height, channels, pixels).
fn decode_png(bytes: &[u8]) -> (usize, usize, usize, Vec<u8>) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let (mut w, mut h, mut ch) = (0usize, 0usize, 0usize);
    let mut idat = vec![];
    let mut i = 8;
    while i + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap()) as usize;
        let kind = &bytes[i + 4..i + 8];
        let data = &bytes[i + 8..i + 8 + len];
        match kind {
            b"IHDR" => {
                w = u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize;
                h = u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize;
                assert_eq!(data[8], 8, "bit depth");
                assert_eq!(data[12], 0, "interlaced PNG");
                ch = match data[9] {
                    2 => 3,
                    6 => 4,
                    c => panic!("PNG colour type {c}"),
                };
            }
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => break,
            _ => {}
        }
        i += 12 + len;
    }
    let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&idat).expect("inflate");
    let stride = w * ch;
    let mut px = vec![0u8; h * stride];
    for y in 0..h {
        let f = raw[y * (stride + 1)];
        let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for x in 0..stride {
            let a = if x >= ch { px[y * stride + x - ch] as i32 } else { 0 };
            let b = if y > 0 { px[(y - 1) * stride + x] as i32 } else { 0 };
            let c = if x >= ch && y > 0 {
                px[(y - 1) * stride + x - ch] as i32
            } else {
                0
            };
            let pred = match f {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("PNG filter {f}"),
            };
            px[y * stride + x] = (line[x] as i32 + pred) as u8;
        }
    }
    (w, h, ch, px)
}

/// Pixels that are clearly not white (text, lines, boxes).
fn dark_pixels(png: &Path) -> usize {
    let (w, h, ch, px) = decode_png(&std::fs::read(png).unwrap());
    assert!(w > 0 && h > 0);
    px.chunks(ch).filter(|p| (p[0] as u32 + p[1] as u32 + p[2] as u32) < 384).count()
}

/// A `key=value` of the probe's line in a dumped DOM (the last `SEM-PROBE`: the
/// script's own text comes first).
fn probe(dom: &str, key: &str) -> i64 {
    let start = dom.rfind("SEM-PROBE ").unwrap_or_else(|| panic!("no probe in the DOM:\n{dom}"));
    let line = dom[start..].lines().next().unwrap();
    let v = line
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {line}"));
    v.trim_end_matches(|c: char| !c.is_ascii_digit() && c != '-').parse().unwrap()
}

const PROBE: &str = "<script>(function(){var s=document.querySelector('svg.sem-diagram');\
var r=s?s.getBoundingClientRect():{width:0,height:0};var p=document.createElement('pre');\
p.textContent='SEM-PROBE svg='+(s?1:0)+' width='+Math.round(r.width)+' height='+Math.round(r.height)+\
' texts='+(s?s.querySelectorAll('text').length:0)+' resources='+performance.getEntriesByType('resource').length+' end';\
document.body.appendChild(p);})();</script>";

#[test]
fn report_and_diagram_render_in_chromium() {
    let Some(bin) = chromium() else { return };
    let dir = scratch("browser");
    let report = dir.join("report.html");
    let o = sem(&[
        "fit",
        &root("models/bradford.lav"),
        &root("data/bradford_demo.csv"),
        "--validity",
        "--effects",
        "--format",
        "html",
        "--output",
        &report.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = dir.join("diagram.svg");
    let o = sem(&[
        "diagram",
        &root("models/bradford.lav"),
        &root("data/bradford_demo.csv"),
        "--output",
        &svg.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("src="),
        "the report refers to something outside itself"
    );

    // 1. the report as it is: no console message, a screenshot that is not blank
    let shot = dir.join("report.png");
    let (_, log) = run_chromium(
        &bin,
        &dir,
        &[&format!("--screenshot={}", shot.display()), "--window-size=1280,2000"],
        &format!("file://{}", report.display()),
    );
    assert!(console_lines(&log).is_empty(), "console messages: {:?}", console_lines(&log));
    let dark = dark_pixels(&shot);
    assert!(dark > 5000, "the report's screenshot is (nearly) blank: {dark} dark pixels");

    // 2. a probed copy: the diagram has a size, its texts are there, nothing was loaded
    let probed = dir.join("probed.html");
    let copy = html
        .lines()
        .filter(|l| !l.contains("Content-Security-Policy"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("</body>", &format!("{PROBE}</body>"));
    std::fs::write(&probed, copy).unwrap();
    let (dom, log) = run_chromium(
        &bin,
        &dir,
        &["--dump-dom", "--window-size=1280,2000"],
        &format!("file://{}", probed.display()),
    );
    assert!(console_lines(&log).is_empty(), "console messages: {:?}", console_lines(&log));
    assert_eq!(probe(&dom, "svg"), 1, "no diagram in the report");
    assert!(
        probe(&dom, "width") > 300 && probe(&dom, "height") > 100,
        "the diagram renders at {}x{}",
        probe(&dom, "width"),
        probe(&dom, "height")
    );
    assert!(probe(&dom, "texts") > 40, "the diagram lost its texts");
    assert_eq!(probe(&dom, "resources"), 0, "the report loaded something");

    // 3. the SVG file alone, and as an image in a page
    let shot = dir.join("diagram.png");
    let (_, log) = run_chromium(
        &bin,
        &dir,
        &[&format!("--screenshot={}", shot.display()), "--window-size=1900,600"],
        &format!("file://{}", svg.display()),
    );
    assert!(console_lines(&log).is_empty(), "console messages: {:?}", console_lines(&log));
    let dark = dark_pixels(&shot);
    assert!(dark > 5000, "the diagram's screenshot is (nearly) blank: {dark} dark pixels");
    let page = dir.join("img.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><img id=\"d\" src=\"diagram.svg\"><script>window.addEventListener('load',function(){var i=document.getElementById('d');var p=document.createElement('pre');p.textContent='SEM-PROBE svg='+(i.complete?1:0)+' width='+i.naturalWidth+' height='+i.naturalHeight+' end';document.body.appendChild(p);});</script></body></html>",
    )
    .unwrap();
    let (dom, log) = run_chromium(
        &bin,
        &dir,
        &["--dump-dom", "--window-size=1900,600"],
        &format!("file://{}", page.display()),
    );
    assert!(console_lines(&log).is_empty(), "console messages: {:?}", console_lines(&log));
    assert!(
        probe(&dom, "width") > 300 && probe(&dom, "height") > 100,
        "the SVG as an image: {}x{}",
        probe(&dom, "width"),
        probe(&dom, "height")
    );
}
