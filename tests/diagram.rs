//! `sem diagram`: the layout's geometry on the Bradford model, Holzinger and
//! Swineford's CFA, Bollen's Political Democracy model and a 10-factor CFA
//! (no two boxes overlap, no label outside the canvas or on a box or on
//! another label, every variable and hypothesis named, every path's value
//! shown), the SVG well-formed and byte-identical across runs and thread
//! counts, names from the model and the data escaped, and the DOT output
//! accepted by graphviz's `dot` (when installed; `SEM_REQUIRE_DOT=1`, set by
//! `.ci/run`, makes a missing `dot` a failure).

mod common;

use common::{scratch, sem, stderr, stdout, write};
use sem::diagram::layout::{self, Layout, Rect};
use sem::diagram::{self as dg, Diagram, EdgeKind, Options, Values};
use sem::pipeline::{self, FitOptions};
use sem::report::FitReport;
use std::path::{Path, PathBuf};

fn root(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// The 10-factor CFA (4 indicators each) and a data set drawn from it.
fn cfa10(dir: &Path) -> (String, String) {
    let mut pop = String::new();
    let mut model = String::new();
    for f in 1..=10 {
        let ind: Vec<String> = (1..=4).map(|i| format!("v{}", (f - 1) * 4 + i)).collect();
        pop.push_str(&format!(
            "F{f} =~ {}\n",
            ind.iter().map(|v| format!("0.7*{v}")).collect::<Vec<_>>().join(" + ")
        ));
        model.push_str(&format!("F{f} =~ {}\n", ind.join(" + ")));
        for g in f + 1..=10 {
            pop.push_str(&format!("F{f} ~~ 0.3*F{g}\n"));
        }
    }
    let pop = write(dir, "cfa10_pop.lav", pop);
    let data = dir.join("cfa10.csv").display().to_string();
    let o = sem(&["simulate", &pop, "--n", "400", "--seed", "7", "--output", &data]);
    assert!(o.status.success(), "{}", stderr(&o));
    (write(dir, "cfa10.lav", model), data)
}

fn fit(model: &str, data: &str, opt: &FitOptions) -> FitReport {
    let r = pipeline::fit(Path::new(model), Path::new(data), opt).unwrap();
    assert!(pipeline::unusable(&r).is_none(), "{model} did not fit");
    r
}

/// Every geometric promise of the layout.
fn check_geometry(what: &str, l: &Layout) {
    let canvas = Rect {
        x: 0.0,
        y: 0.0,
        w: l.width,
        h: l.height,
    };
    let inside = |r: &Rect| r.x >= 0.0 && r.y >= 0.0 && r.right() <= canvas.w && r.bottom() <= canvas.h;
    let mut boxes: Vec<(String, Rect)> = l.nodes.iter().map(|n| (n.name.clone(), n.rect)).collect();
    boxes.extend(l.variances.iter().map(|v| (format!("variance {}", v.text), v.rect)));
    for (i, (a, ra)) in boxes.iter().enumerate() {
        assert!(inside(ra), "{what}: box {a} {ra:?} outside the canvas {}x{}", l.width, l.height);
        for (b, rb) in &boxes[i + 1..] {
            assert!(!ra.overlaps(rb), "{what}: boxes {a} {ra:?} and {b} {rb:?} overlap");
        }
    }
    let labels: Vec<(&str, Rect)> = l
        .edges
        .iter()
        .filter_map(|e| e.label.as_ref())
        .map(|lb| (lb.text.as_str(), lb.rect))
        .collect();
    for (i, (t, r)) in labels.iter().enumerate() {
        assert!(inside(r), "{what}: label {t} {r:?} outside the canvas");
        for (name, b) in &boxes {
            assert!(!r.overlaps(b), "{what}: label {t} {r:?} covers {name} {b:?}");
        }
        for (u, s) in &labels[i + 1..] {
            assert!(!r.overlaps(s), "{what}: labels {t} and {u} overlap");
        }
    }
    for t in &l.texts {
        assert!(inside(&t.rect()), "{what}: text {} outside the canvas", t.text);
    }
    // a regression never runs under a box other than its two ends
    for e in l.edges.iter().filter(|e| e.kind == EdgeKind::Regression) {
        let start = e.start;
        let end = e.segments.last().unwrap()[2];
        let ends: Vec<&Rect> = l
            .nodes
            .iter()
            .map(|n| &n.rect)
            .filter(|r| {
                [start, end]
                    .iter()
                    .any(|p| p.x >= r.x - 1.0 && p.x <= r.right() + 1.0 && p.y >= r.y - 1.0 && p.y <= r.bottom() + 1.0)
            })
            .collect();
        for k in 1..80 {
            let p = layout::point_at(e, k as f64 / 80.0);
            for (name, r) in &boxes {
                if ends.contains(&r) {
                    continue;
                }
                let inner = (r.x + 1.0, r.y + 1.0, r.right() - 1.0, r.bottom() - 1.0);
                assert!(
                    !(p.x > inner.0 && p.x < inner.2 && p.y > inner.1 && p.y < inner.3),
                    "{what}: the path {:?} runs under {name}",
                    e.label.as_ref().map(|l| &l.text)
                );
            }
        }
    }
    for e in &l.edges {
        for s in &e.segments {
            for p in s {
                assert!(
                    p.x >= 0.0 && p.y >= 0.0 && p.x <= l.width && p.y <= l.height,
                    "{what}: a path leaves the canvas"
                );
            }
        }
    }
}

/// Every variable drawn, every hypothesis named, every path's value on its arrow.
fn check_content(what: &str, r: &FitReport, d: &Diagram, l: &Layout, opt: &Options) {
    let names: Vec<&str> = l.nodes.iter().map(|n| n.name.as_str()).collect();
    let labels: Vec<&str> = l.edges.iter().filter_map(|e| e.label.as_ref()).map(|lb| lb.text.as_str()).collect();
    let full = Diagram::from_fit(r, &Options::default());
    let indicator = |v: &str| full.panels[0].nodes.iter().any(|n| n.name == v && n.factor.is_some());
    if opt.structural {
        assert!(
            d.panels[0].nodes.iter().all(|n| !indicator(&n.name)),
            "{what}: --structural draws no indicator"
        );
    }
    for p in r.parameters.iter().filter(|p| matches!(p.op.as_str(), "=~" | "~" | "~~")) {
        for v in [&p.lhs, &p.rhs] {
            assert!(opt.structural || names.contains(&v.as_str()), "{what}: variable {v} not drawn");
        }
        if p.op == "~~" && p.lhs == p.rhs {
            continue;
        }
        if opt.structural && (indicator(&p.lhs) || indicator(&p.rhs)) {
            continue;
        }
        let v = match opt.values {
            Values::Std => dg::apa(p.std_all.unwrap(), opt.digits, true),
            Values::Est => dg::apa(p.est.unwrap(), opt.digits, false),
        };
        let shown = format!("{v}{}", dg::stars(if p.free { p.pvalue } else { None }));
        assert!(
            labels.iter().any(|t| *t == shown || t.ends_with(&format!(": {shown}"))),
            "{what}: {} {} {}: value {shown} not on any arrow ({labels:?})",
            p.lhs,
            p.op,
            p.rhs
        );
    }
    for h in &r.hypotheses {
        assert!(
            labels.iter().any(|t| t.starts_with(&format!("{}: ", h.name))),
            "{what}: hypothesis {} not named",
            h.name
        );
        let dashed = l
            .edges
            .iter()
            .any(|e| e.dashed && e.label.as_ref().is_some_and(|lb| lb.text.starts_with(&format!("{}: ", h.name))));
        assert_eq!(dashed, !h.supported, "{what}: {} dashed iff not supported", h.name);
    }
}

fn models(dir: &Path) -> Vec<(&'static str, String, String)> {
    let (m10, d10) = cfa10(dir);
    vec![
        (
            "bradford",
            root("models/bradford.lav").display().to_string(),
            root("data/bradford_demo.csv").display().to_string(),
        ),
        (
            "holzinger_swineford",
            root("models/holzinger_swineford.lav").display().to_string(),
            root("data/HolzingerSwineford1939.csv").display().to_string(),
        ),
        (
            "political_democracy",
            root("models/political_democracy.lav").display().to_string(),
            root("data/PoliticalDemocracy.csv").display().to_string(),
        ),
        ("cfa10", m10, d10),
    ]
}

#[test]
fn layouts_have_no_overlaps_and_show_every_value() {
    let dir = scratch("geometry");
    for (name, model, data) in models(&dir) {
        let r = fit(&model, &data, &FitOptions::default());
        for (variant, opt) in [
            ("std", Options::default()),
            (
                "est, residuals",
                Options {
                    values: Values::Est,
                    residuals: true,
                    ..Options::default()
                },
            ),
            (
                "structural",
                Options {
                    structural: true,
                    ..Options::default()
                },
            ),
            (
                "3 digits",
                Options {
                    digits: 3,
                    ..Options::default()
                },
            ),
        ] {
            let what = format!("{name} ({variant})");
            let d = Diagram::from_fit(&r, &opt);
            let l = layout::layout(&d);
            check_geometry(&what, &l);
            check_content(&what, &r, &d, &l, &opt);
            if opt.residuals {
                let expected = r.parameters.iter().filter(|p| p.op == "~~" && p.lhs == p.rhs).count();
                assert_eq!(l.variances.len(), expected, "{what}: one circle per variance");
            }
        }
        // the model alone: structure and labels
        let c = pipeline::check(Path::new(&model), None, &FitOptions::default()).unwrap();
        let d = Diagram::from_check(&c, &Options::default());
        check_geometry(&format!("{name} (no data)"), &layout::layout(&d));
    }
}

#[test]
fn bradford_reads_left_to_right() {
    let r = fit(
        &root("models/bradford.lav").display().to_string(),
        &root("data/bradford_demo.csv").display().to_string(),
        &FitOptions::default(),
    );
    let l = layout::layout(&Diagram::from_fit(&r, &Options::default()));
    let x = |v: &str| l.nodes.iter().find(|n| n.name == v).unwrap().rect.center().x;
    // exogenous on the left, the final outcome on the right, causal order in between
    assert!(x("ALLO") < x("HELP") && x("HELP") < x("NET") && x("NET") < x("EOIS"));
    assert!(x("EOIS") < x("CRQ") && x("CRQ") < x("SP"));
    assert!(l
        .nodes
        .iter()
        .all(|n| n.name == "SP" || n.name.starts_with("sp") || x(&n.name) < x("SP")));
    // R² inside the endogenous factors, none in ALLO
    let r2 = |v: &str| l.nodes.iter().find(|n| n.name == v).unwrap().r2.clone();
    assert!(r2("ALLO").is_none());
    assert!(r2("SP").unwrap().starts_with("R² = ."));
    // latent as ellipses, observed as rectangles
    assert!(l
        .nodes
        .iter()
        .all(|n| (n.shape == dg::Shape::Latent) == n.name.chars().all(|c| c.is_ascii_uppercase())));
}

/// Parse as XML; return the text of every `<text>` element.
fn xml_texts(svg: &str) -> Vec<String> {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_str(svg);
    let mut out = vec![];
    let mut in_text = false;
    let mut depth = 0i32;
    loop {
        match r.read_event() {
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => {
                depth += 1;
                in_text = e.name().as_ref() == b"text";
                if in_text {
                    out.push(String::new());
                }
            }
            Ok(Event::End(_)) => {
                depth -= 1;
                in_text = false;
            }
            Ok(Event::Text(t)) if in_text => {
                let s = t.decode().unwrap().into_owned();
                out.last_mut().unwrap().push_str(&s);
            }
            Ok(Event::GeneralRef(e)) if in_text => {
                let name = String::from_utf8(e.to_vec()).unwrap();
                let c = match name.as_str() {
                    "amp" => "&".to_string(),
                    "lt" => "<".into(),
                    "gt" => ">".into(),
                    "quot" => "\"".into(),
                    "apos" => "'".into(),
                    n if n.starts_with("#") => char::from_u32(n[1..].parse().unwrap()).unwrap().to_string(),
                    n => panic!("unknown entity {n}"),
                };
                out.last_mut().unwrap().push_str(&c);
            }
            Ok(_) => {}
            Err(e) => panic!("not well-formed XML at {}: {e}\n{svg}", r.buffer_position()),
        }
    }
    assert_eq!(depth, 0, "unbalanced elements");
    out
}

#[test]
fn svg_is_xml_and_the_same_bytes_every_time() {
    let model = root("models/bradford.lav").display().to_string();
    let data = root("data/bradford_demo.csv").display().to_string();
    let run = |threads: &str| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_sem"))
            .args(["diagram", &model, &data])
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        o.stdout
    };
    let one = run("1");
    assert_eq!(one, run("2"));
    assert_eq!(one, run("4"));
    assert_eq!(one, run("1"));
    // the README's picture is this command's output (regenerate it with the README's command)
    let docs = std::fs::read(root("docs/bradford.svg")).unwrap();
    assert!(
        docs == one,
        "docs/bradford.svg is stale: run `sem diagram models/bradford.lav data/bradford_demo.csv --output docs/bradford.svg`"
    );
    let svg = String::from_utf8(one).unwrap();
    assert!(svg.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.contains("font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\""));
    let texts = xml_texts(&svg);
    for v in ["ALLO", "NET", "HELP", "COS", "EOIS", "CRQ", "SP", "allo1", "sp3"] {
        assert!(texts.iter().any(|t| t == v), "{v} missing");
    }
    for h in ["H1a", "H1b", "H2", "H3", "H4", "H5", "H6", "H7", "H8"] {
        assert!(texts.iter().any(|t| t.starts_with(&format!("{h}: "))), "{h} missing");
    }
    assert_eq!(svg.matches("<ellipse").count(), 7, "seven factors, seven ellipses");
    // the model alone and the DOT format through the command line
    let o = sem(&["diagram", &model, "--structural"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let texts = xml_texts(&stdout(&o));
    assert!(texts.iter().any(|t| t == "H1a") && !texts.iter().any(|t| t == "allo1"));
}

#[test]
fn names_from_the_data_and_the_model_are_escaped() {
    // a node and a group named like markup, straight through the renderer
    let d = Diagram {
        panels: vec![dg::Panel {
            title: Some("Group 1: <script>alert(1)</script>".into()),
            nodes: vec![
                dg::Node {
                    name: "a&<>\"'b".into(),
                    shape: dg::Shape::Latent,
                    r2: None,
                    factor: None,
                    variance: None,
                },
                dg::Node {
                    name: "y]]>".into(),
                    shape: dg::Shape::Observed,
                    r2: Some("R² = .10".into()),
                    factor: None,
                    variance: Some("<1>".into()),
                },
            ],
            edges: vec![dg::Edge {
                from: 0,
                to: 1,
                kind: EdgeKind::Regression,
                label: "H1: \"&'".into(),
                dashed: true,
            }],
        }],
        notes: vec!["note </svg>".into()],
    };
    let svg = dg::svg::render(&d);
    assert!(!svg.contains("<script"));
    let texts = xml_texts(&svg);
    for t in [
        "a&<>\"'b",
        "y]]>",
        "<1>",
        "H1: \"&'",
        "Group 1: <script>alert(1)</script>",
        "note </svg>",
    ] {
        assert!(texts.iter().any(|x| x == t), "{t} not shown as text: {texts:?}");
    }
    // a group named like markup, from a CSV file, through the command line
    let dir = scratch("escape");
    let csv = std::fs::read_to_string(root("data/HolzingerSwineford1939.csv"))
        .unwrap()
        .replace("\"Pasteur\"", "\"<script>alert(1)</script>\"")
        .replace("\"Grant-White\"", "\"G&<>\"\"'W\"");
    let data = write(&dir, "hs.csv", csv);
    let model = root("models/holzinger_swineford.lav").display().to_string();
    let o = sem(&["diagram", &model, &data, "--group", "school"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = stdout(&o);
    assert!(!svg.contains("<script"));
    let texts = xml_texts(&svg);
    assert!(texts.iter().any(|t| t == "Group 1: <script>alert(1)</script>"), "{texts:?}");
    assert!(texts.iter().any(|t| t == "Group 2: G&<>\"'W"), "{texts:?}");
    // two panels, and --group-index picks one
    assert_eq!(svg.matches("<ellipse").count(), 6);
    let o = sem(&["diagram", &model, &data, "--group", "school", "--group-index", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).matches("<ellipse").count(), 3);
    let o = sem(&["diagram", &model, &data, "--group", "school", "--group-index", "3"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--group-index 3"), "{}", stderr(&o));
}

#[test]
fn bad_input_is_one_message() {
    let o = sem(&["diagram", "no/such/model.lav"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).contains("no/such/model.lav"));
}

fn dot_available() -> bool {
    let found = std::process::Command::new("dot")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("SEM_REQUIRE_DOT").map_or(true, |v| v != "1"),
            "SEM_REQUIRE_DOT=1 but graphviz's dot is not installed"
        );
        eprintln!("skipped: graphviz (dot) not installed");
    }
    found
}

#[test]
fn dot_output_is_accepted_by_graphviz() {
    if !dot_available() {
        return;
    }
    let dir = scratch("dot");
    let mut cases: Vec<Vec<String>> = vec![];
    for (_, model, data) in models(&dir) {
        cases.push(vec![model.clone(), data.clone()]);
        cases.push(vec![model.clone()]);
    }
    let hs = root("models/holzinger_swineford.lav").display().to_string();
    let csv = std::fs::read_to_string(root("data/HolzingerSwineford1939.csv"))
        .unwrap()
        .replace("\"Pasteur\"", "\"P\"\"a\\\\s<>\"");
    cases.push(vec![
        hs,
        write(&dir, "hs.csv", csv),
        "--group".into(),
        "school".into(),
        "--residuals".into(),
    ]);
    for args in cases {
        let mut a: Vec<&str> = vec!["diagram", "--format", "dot"];
        a.extend(args.iter().map(String::as_str));
        let o = sem(&a);
        assert!(o.status.success(), "{a:?}: {}", stderr(&o));
        let dotfile = write(&dir, "g.dot", &o.stdout);
        let g = std::process::Command::new("dot").args(["-Tsvg", &dotfile]).output().unwrap();
        assert!(g.status.success(), "dot refused {a:?}: {}", String::from_utf8_lossy(&g.stderr));
        assert!(String::from_utf8_lossy(&g.stdout).contains("<svg"));
        // (dot may warn about its own spline routing, never about the syntax)
        let err = String::from_utf8_lossy(&g.stderr);
        assert!(!err.contains("syntax error") && !err.contains("Error"), "dot on {a:?}: {err}");
    }
}

#[test]
fn path_models_name_defined_hypotheses_under_the_picture() {
    let dir = scratch("path");
    let m = write(
        &dir,
        "path.lav",
        "y1 ~ a*x1 + x2\ny2 ~ b*y1 + c*x1\ny3 ~ y2 + y1\nH1 := a*b\n# hypotheses: c\n",
    );
    let r = fit(
        &m,
        &root("data/PoliticalDemocracy.csv").display().to_string(),
        &FitOptions::default(),
    );
    let opt = Options::default();
    let d = Diagram::from_fit(&r, &opt);
    let l = layout::layout(&d);
    check_geometry("path model", &l);
    // observed variables only: rectangles, causal order left to right
    assert!(l.nodes.iter().all(|n| n.shape == dg::Shape::Observed));
    let x = |v: &str| l.nodes.iter().find(|n| n.name == v).unwrap().rect.center().x;
    assert!(x("x1") < x("y1") && x("y1") < x("y2") && x("y2") < x("y3"));
    let h1 = r.hypotheses.iter().find(|h| h.name == "H1").unwrap();
    let note = l.texts.iter().map(|t| t.text.as_str()).collect::<Vec<_>>().join(" ");
    let v = dg::apa(h1.std_all.unwrap(), 2, true);
    assert!(note.contains(&format!("H1 := a*b = {v}{}", dg::stars(h1.pvalue))), "{note}");
    let c = r.hypotheses.iter().find(|h| h.name == "c").unwrap();
    let edge = l
        .edges
        .iter()
        .find(|e| e.label.as_ref().is_some_and(|lb| lb.text.starts_with("c: ")))
        .unwrap();
    assert_eq!(edge.dashed, !c.supported);
}

#[test]
fn crowded_layers_and_covariates_keep_their_distance() {
    let dir = scratch("crowded");
    let bradford = root("data/bradford_demo.csv").display().to_string();
    // three factors in one middle layer (rows above, above, below)
    let wide = write(
        &dir,
        "wide.lav",
        "ALLO =~ allo1 + allo2 + allo3 + allo4\nNET =~ net1 + net2 + net3 + net4\nHELP =~ help1 + help2 + help3\nCOS =~ cos1 + cos2 + cos3 + cos4\nEOIS =~ eois1 + eois2 + eois3\nCRQ =~ crq1 + crq2 + crq3 + crq4\nSP =~ sp1 + sp2 + sp3\nHELP ~ ALLO\nNET ~ ALLO\nCOS ~ ALLO\nEOIS ~ NET + HELP\nCRQ ~ EOIS + COS\nSP ~ CRQ + ALLO\nNET ~~ COS\n",
    );
    // observed covariates of factors (MIMIC) and a residual covariance between indicators
    let mimic = write(
        &dir,
        "mimic.lav",
        "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\nvisual ~ ageyr + grade\ntextual ~ visual + ageyr\nspeed ~ visual\nx4 ~~ x6\n",
    );
    let hs = root("data/HolzingerSwineford1939.csv").display().to_string();
    for (what, m, d) in [("wide", &wide, &bradford), ("mimic", &mimic, &hs)] {
        let r = fit(m, d, &FitOptions::default());
        for opt in [
            Options::default(),
            Options {
                residuals: true,
                values: Values::Est,
                ..Options::default()
            },
        ] {
            let dg = Diagram::from_fit(&r, &opt);
            let l = layout::layout(&dg);
            check_geometry(what, &l);
            check_content(what, &r, &dg, &l, &opt);
        }
    }
}
