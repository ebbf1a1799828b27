//! The diagram in graphviz's DOT language (`sem diagram --format dot`), for
//! people who lay pictures out with graphviz: the same nodes, labels and
//! dashes as the SVG, left to right, one cluster per group. Every name is a
//! quoted DOT string (quotes and backslashes escaped), so any variable name
//! is accepted by `dot`.

use super::{Diagram, EdgeKind, Shape};
use std::fmt::Write as _;

/// A DOT quoted string.
fn q(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' | '\r' => o.push(' '),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

pub fn render(d: &Diagram) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "digraph sem {{");
    let _ = writeln!(o, "  rankdir=LR;");
    let _ = writeln!(o, "  node [fontname=\"Helvetica\", fontsize=12];");
    let _ = writeln!(o, "  edge [fontname=\"Helvetica\", fontsize=10];");
    let multi = d.panels.len() > 1;
    for (g, p) in d.panels.iter().enumerate() {
        let id = |i: usize| {
            if multi {
                q(&format!("g{}:{}", g + 1, p.nodes[i].name))
            } else {
                q(&p.nodes[i].name)
            }
        };
        let ind = if multi { "    " } else { "  " };
        if multi {
            let _ = writeln!(o, "  subgraph \"cluster_{}\" {{", g + 1);
            let _ = writeln!(o, "    label={};", q(p.title.as_deref().unwrap_or("")));
        }
        for (i, v) in p.nodes.iter().enumerate() {
            let shape = match v.shape {
                Shape::Latent => "ellipse",
                Shape::Observed => "box",
            };
            // the lines of the label, each escaped, joined by DOT's line break
            let mut lines = vec![q(&v.name)];
            if let Some(r2) = &v.r2 {
                lines.push(q(r2));
            }
            if let Some(var) = &v.variance {
                lines.push(q(&format!("var {var}")));
            }
            let inner: Vec<&str> = lines.iter().map(|l| &l[1..l.len() - 1]).collect();
            let label = format!("\"{}\"", inner.join("\\n"));
            let _ = writeln!(o, "{ind}{} [shape={shape}, label={label}];", id(i));
        }
        for e in &p.edges {
            let mut attrs = vec![];
            if !e.label.is_empty() {
                attrs.push(format!("label={}", q(&e.label)));
            }
            if e.dashed {
                attrs.push("style=dashed".into());
            }
            if e.kind == EdgeKind::Covariance {
                attrs.push("dir=both".into());
                attrs.push("constraint=false".into());
            }
            let _ = writeln!(o, "{ind}{} -> {} [{}];", id(e.from), id(e.to), attrs.join(", "));
        }
        if multi {
            let _ = writeln!(o, "  }}");
        }
    }
    if !d.notes.is_empty() {
        let _ = writeln!(o, "  label={};", q(&d.notes.join(" ")));
        let _ = writeln!(o, "  labelloc=b;");
    }
    let _ = writeln!(o, "}}");
    o
}
