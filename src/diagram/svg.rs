//! The SVG writer: prints a `Layout` as SVG 1.1 that reads in black and
//! white (black strokes, white label boxes, dashes for unsupported
//! hypotheses) with fonts every system has. The bytes depend on the layout
//! alone (coordinates printed with one decimal), so the same model and data
//! give the same file on every run and at every thread count. Every text
//! from the model or the data is escaped. `inline` leaves out the XML
//! declaration and the namespace URL for embedding in an HTML page, and
//! `id` keeps the arrowhead markers of several pictures on one page apart.

use super::escape_xml;
use super::layout::{self, EdgePath, Layout, Point, Rect, INDICATOR_SIZE, LABEL_SIZE, NAME_SIZE, R2_SIZE, VARIANCE_SIZE};
use super::{Diagram, EdgeKind, Shape};
use std::fmt::Write as _;

/// The font list: DejaVu Sans (Linux), Arial (Windows, macOS), Helvetica, any sans-serif.
pub const FONT_FAMILY: &str = "DejaVu Sans, Arial, Helvetica, sans-serif";

/// A number for SVG: one decimal, never `-0.0`.
fn n(v: f64) -> String {
    let s = format!("{v:.1}");
    if s == "-0.0" {
        "0.0".into()
    } else {
        s
    }
}

fn p(q: Point) -> String {
    format!("{},{}", n(q.x), n(q.y))
}

/// The diagram as a standalone SVG file.
pub fn render(d: &Diagram) -> String {
    write(&layout::layout(d), false, "sem")
}

/// The diagram as an `<svg>` element for an HTML page.
pub fn render_inline(d: &Diagram, id: &str) -> String {
    write(&layout::layout(d), true, id)
}

/// Print a layout.
pub fn write(l: &Layout, inline: bool, id: &str) -> String {
    let id = escape_xml(id);
    let mut o = String::new();
    if !inline {
        o.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    }
    let ns = if inline { "" } else { " xmlns=\"http://www.w3.org/2000/svg\"" };
    let _ = writeln!(
        o,
        "<svg{ns} class=\"sem-diagram\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"{FONT_FAMILY}\" role=\"img\">",
        w = n(l.width),
        h = n(l.height)
    );
    let _ = writeln!(o, "<title>Path diagram</title>");
    let _ = writeln!(
        o,
        "<defs><marker id=\"{id}-end\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0,0.8 L10,5 L0,9.2 z\" fill=\"#000\"/></marker><marker id=\"{id}-start\" viewBox=\"0 0 10 10\" refX=\"0\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M10,0.8 L0,5 L10,9.2 z\" fill=\"#000\"/></marker></defs>"
    );
    let _ = writeln!(
        o,
        "<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#fff\"/>",
        n(l.width),
        n(l.height)
    );
    // paths under the boxes, labels over everything
    let _ = writeln!(o, "<g fill=\"none\" stroke=\"#000\" stroke-width=\"1.3\">");
    for e in &l.edges {
        edge(&mut o, e, &id);
    }
    for v in &l.variances {
        let _ = writeln!(o, "<path d=\"M{} L{}\" marker-end=\"url(#{id}-end)\"/>", p(v.from), p(v.to));
    }
    let _ = writeln!(o, "</g>");
    let _ = writeln!(o, "<g stroke=\"#000\" stroke-width=\"1.4\" fill=\"#fff\">");
    for b in &l.nodes {
        let r = b.rect;
        match b.shape {
            Shape::Latent => {
                let c = r.center();
                let _ = writeln!(
                    o,
                    "<ellipse cx=\"{}\" cy=\"{}\" rx=\"{}\" ry=\"{}\"/>",
                    n(c.x),
                    n(c.y),
                    n(r.w / 2.0),
                    n(r.h / 2.0)
                );
            }
            Shape::Observed => {
                let _ = writeln!(
                    o,
                    "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
                    n(r.x),
                    n(r.y),
                    n(r.w),
                    n(r.h)
                );
            }
        }
    }
    for v in &l.variances {
        let c = v.rect.center();
        let _ = writeln!(
            o,
            "<ellipse cx=\"{}\" cy=\"{}\" rx=\"{}\" ry=\"{}\" stroke-width=\"1\"/>",
            n(c.x),
            n(c.y),
            n(v.rect.w / 2.0),
            n(v.rect.h / 2.0)
        );
    }
    let _ = writeln!(o, "</g>");
    let _ = writeln!(o, "<g fill=\"#000\" text-anchor=\"middle\">");
    for b in &l.nodes {
        let c = b.rect.center();
        let size = if b.indicator { INDICATOR_SIZE } else { NAME_SIZE };
        let weight = if b.indicator { "" } else { " font-weight=\"bold\"" };
        match &b.r2 {
            Some(r2) => {
                let _ = writeln!(
                    o,
                    "<text x=\"{}\" y=\"{}\" font-size=\"{size}\"{weight}>{}</text>",
                    n(c.x),
                    n(c.y - 2.0),
                    escape_xml(&b.name)
                );
                let _ = writeln!(
                    o,
                    "<text x=\"{}\" y=\"{}\" font-size=\"{R2_SIZE}\" font-style=\"italic\">{}</text>",
                    n(c.x),
                    n(c.y + R2_SIZE + 1.0),
                    escape_xml(r2)
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "<text x=\"{}\" y=\"{}\" font-size=\"{size}\"{weight}>{}</text>",
                    n(c.x),
                    n(c.y + size * 0.36),
                    escape_xml(&b.name)
                );
            }
        }
    }
    for v in &l.variances {
        let c = v.rect.center();
        let _ = writeln!(
            o,
            "<text x=\"{}\" y=\"{}\" font-size=\"{VARIANCE_SIZE}\">{}</text>",
            n(c.x),
            n(c.y + VARIANCE_SIZE * 0.36),
            escape_xml(&v.text)
        );
    }
    for e in &l.edges {
        if let Some(lb) = &e.label {
            label(&mut o, &lb.rect, &lb.text);
        }
    }
    let _ = writeln!(o, "</g>");
    for t in &l.texts {
        let weight = if t.bold { " font-weight=\"bold\"" } else { "" };
        let _ = writeln!(
            o,
            "<text x=\"{}\" y=\"{}\" font-size=\"{}\"{weight}>{}</text>",
            n(t.x),
            n(t.y),
            t.size,
            escape_xml(&t.text)
        );
    }
    o.push_str("</svg>\n");
    o
}

fn label(o: &mut String, r: &Rect, text: &str) {
    let c = r.center();
    let _ = writeln!(
        o,
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fff\" stroke=\"none\"/><text x=\"{}\" y=\"{}\" font-size=\"{LABEL_SIZE}\">{}</text>",
        n(r.x + 1.0),
        n(r.y + 1.0),
        n(r.w - 2.0),
        n(r.h - 2.0),
        n(c.x),
        n(c.y + LABEL_SIZE * 0.36),
        escape_xml(text)
    );
}

fn edge(o: &mut String, e: &EdgePath, id: &str) {
    let mut d = format!("M{}", p(e.start));
    if e.straight {
        let _ = write!(d, " L{}", p(e.segments[0][2]));
    } else {
        for s in &e.segments {
            let _ = write!(d, " C{} {} {}", p(s[0]), p(s[1]), p(s[2]));
        }
    }
    let mut attrs = String::new();
    if e.dashed {
        attrs.push_str(" stroke-dasharray=\"6 4\"");
    }
    if e.kind == EdgeKind::Covariance {
        attrs.push_str(" stroke-width=\"1.1\"");
    }
    if e.head_start {
        let _ = write!(attrs, " marker-start=\"url(#{id}-start)\"");
    }
    if e.head_end {
        let _ = write!(attrs, " marker-end=\"url(#{id}-end)\"");
    }
    let _ = writeln!(o, "<path d=\"{d}\"{attrs}/>");
}
