//! Where everything goes: a pure function from a `Diagram` to a `Layout`
//! of boxes, paths and labels in pixels, which the SVG writer only prints
//! and the tests check (no two node boxes overlap, every label inside the
//! canvas). The layout is layered left to right by causal order, as SEM
//! papers draw it:
//!
//! 1. The structural part (latent variables and observed variables in a
//!    regression) is layered by the longest path from the exogenous
//!    variables (a cycle of a nonrecursive model is broken at the edge a
//!    depth-first search meets last), so exogenous variables stand on the
//!    left and final outcomes on the right; a path that skips layers gets
//!    a bend point in every layer it crosses (Sugiyama's dummy nodes).
//! 2. Within a layer the order follows the barycentres of the neighbours
//!    (a few sweeps back and forth), which removes most crossings.
//! 3. Each structural variable is a block with its indicators fanned
//!    beside it: on the left in the first layer, on the right in the last
//!    one, in a row above (upper half of a layer) or below (lower half) in
//!    between, so indicator arrows never cross the structural paths.
//! 4. The vertical positions are the barycentres of the neighbours, pushed
//!    apart just enough to keep the blocks' minimum gaps (a least-squares
//!    projection by pool-adjacent-violators), so chains come out straight.
//! 5. Each path label is put at the first of a few points along its path
//!    where it covers no node and no earlier label.
//!
//! Text widths are estimated from DejaVu Sans' advance widths (wide
//! enough for Arial and Helvetica too), so the layout needs no font files
//! and gives the same numbers on every machine.

use super::{Diagram, EdgeKind, Panel, Shape};

/// Sizes of the fonts, in px.
pub const NAME_SIZE: f64 = 13.0;
pub const INDICATOR_SIZE: f64 = 12.0;
pub const LABEL_SIZE: f64 = 11.0;
pub const R2_SIZE: f64 = 10.0;
pub const VARIANCE_SIZE: f64 = 9.5;
pub const NOTE_SIZE: f64 = 11.0;
pub const TITLE_SIZE: f64 = 14.0;

const MARGIN: f64 = 16.0;
/// horizontal gap between layers (room for a label such as `H1a: .35***`)
const COL_GAP: f64 = 96.0;
/// vertical gap between blocks of a layer
const BLOCK_GAP: f64 = 30.0;
/// distance between a factor and its indicator column (room for a loading's label)
const STACK_GAP: f64 = 76.0;
/// distance between a factor and its indicator row
const ROW_GAP: f64 = 84.0;
/// where along a factor-to-row arrow its label goes
const ROW_LABEL_T: f64 = 0.7;
/// gap between neighbouring indicators
const IND_GAP: f64 = 8.0;
/// half the height a bend point of a long path keeps free
const DUMMY_HALF: f64 = 9.0;
/// distance between a variance circle and its variable
const VAR_GAP: f64 = 12.0;

/// An estimated advance width of `s` at `size` px in DejaVu Sans (its real
/// widths, rounded up; Arial and Helvetica are narrower).
pub fn text_width(s: &str, size: f64) -> f64 {
    let em: f64 = s
        .chars()
        .map(|c| match c {
            'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' => 0.30,
            'f' | 't' | 'r' | '(' | ')' | '[' | ']' | ' ' | 'I' => 0.40,
            '*' => 0.52,
            'm' | 'w' => 0.92,
            'M' | 'W' => 0.98,
            c if c.is_ascii_uppercase() => 0.76,
            c if c.is_ascii_digit() || c.is_ascii_lowercase() => 0.64,
            '²' => 0.42,
            c if c.is_ascii() => 0.70,
            // CJK and other wide characters
            c if (c as u32) >= 0x1100 => 1.0,
            _ => 0.72,
        })
        .sum();
    em * size
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

fn pt(x: f64, y: f64) -> Point {
    Point { x, y }
}

/// An axis-aligned box: top-left corner, width and height.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn centered(c: Point, w: f64, h: f64) -> Rect {
        Rect {
            x: c.x - w / 2.0,
            y: c.y - h / 2.0,
            w,
            h,
        }
    }
    pub fn center(&self) -> Point {
        pt(self.x + self.w / 2.0, self.y + self.h / 2.0)
    }
    pub fn right(&self) -> f64 {
        self.x + self.w
    }
    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }
    /// the boxes share area (touching is not overlapping)
    pub fn overlaps(&self, o: &Rect) -> bool {
        self.x < o.right() && o.x < self.right() && self.y < o.bottom() && o.y < self.bottom()
    }
    fn overlap_area(&self, o: &Rect) -> f64 {
        let w = self.right().min(o.right()) - self.x.max(o.x);
        let h = self.bottom().min(o.bottom()) - self.y.max(o.y);
        if w > 0.0 && h > 0.0 {
            w * h
        } else {
            0.0
        }
    }
    fn grow(&self, d: f64) -> Rect {
        Rect {
            x: self.x - d,
            y: self.y - d,
            w: self.w + 2.0 * d,
            h: self.h + 2.0 * d,
        }
    }
    fn union(&self, o: &Rect) -> Rect {
        let x = self.x.min(o.x);
        let y = self.y.min(o.y);
        Rect {
            x,
            y,
            w: self.right().max(o.right()) - x,
            h: self.bottom().max(o.bottom()) - y,
        }
    }
    fn shift(&mut self, dx: f64, dy: f64) {
        self.x += dx;
        self.y += dy;
    }
}

/// A variable's box (an ellipse inscribed in `rect` for a latent variable).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeBox {
    pub name: String,
    pub shape: Shape,
    pub rect: Rect,
    /// the second line (`R² = .45`)
    pub r2: Option<String>,
    pub indicator: bool,
}

/// A variance drawn as a small ellipse beside its variable, with an arrow into it.
#[derive(Debug, Clone, PartialEq)]
pub struct VarianceBox {
    pub text: String,
    pub rect: Rect,
    pub from: Point,
    pub to: Point,
}

/// A path label: text centred in a white box.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub text: String,
    pub rect: Rect,
}

/// A path as a start point and cubic Bézier segments (c1, c2, end); a
/// straight arrow is one segment with its control points on the line.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgePath {
    pub kind: EdgeKind,
    pub dashed: bool,
    pub start: Point,
    pub segments: Vec<[Point; 3]>,
    /// drawn as a straight line (one segment)
    pub straight: bool,
    pub head_start: bool,
    pub head_end: bool,
    pub label: Option<Label>,
}

/// A free text line (panel title or note), `x` its left end, `y` its baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    pub text: String,
    pub x: f64,
    pub y: f64,
    pub size: f64,
    pub bold: bool,
}

impl TextLine {
    pub fn rect(&self) -> Rect {
        Rect {
            x: self.x,
            y: self.y - self.size,
            w: text_width(&self.text, self.size),
            h: self.size * 1.3,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    pub nodes: Vec<NodeBox>,
    pub variances: Vec<VarianceBox>,
    pub edges: Vec<EdgePath>,
    pub texts: Vec<TextLine>,
}

/// Where a factor's indicators go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fan {
    Left,
    Right,
    Above,
    Below,
}

/// The size of a variable's box.
fn node_size(name: &str, shape: Shape, r2: Option<&str>, indicator: bool) -> (f64, f64) {
    let r2w = r2.map_or(0.0, |s| text_width(s, R2_SIZE));
    match (shape, indicator) {
        (Shape::Latent, _) => {
            let w = (text_width(name, NAME_SIZE) + 34.0).max(r2w + 34.0).max(72.0);
            (w, if r2.is_some() { 54.0 } else { 42.0 })
        }
        (Shape::Observed, true) => ((text_width(name, INDICATOR_SIZE) + 14.0).max(40.0), 24.0),
        (Shape::Observed, false) => {
            let w = (text_width(name, NAME_SIZE) + 18.0).max(r2w + 14.0).max(48.0);
            (w, if r2.is_some() { 42.0 } else { 30.0 })
        }
    }
}

fn variance_size(text: &str) -> (f64, f64) {
    ((text_width(text, VARIANCE_SIZE) + 10.0).max(22.0), 20.0)
}

/// The point where the ray from the centre of `r` towards `p` leaves the shape.
fn boundary(r: &Rect, shape: Shape, p: Point) -> Point {
    let c = r.center();
    let (dx, dy) = (p.x - c.x, p.y - c.y);
    if dx == 0.0 && dy == 0.0 {
        return c;
    }
    let (hw, hh) = (r.w / 2.0, r.h / 2.0);
    let t = match shape {
        Shape::Latent => 1.0 / ((dx / hw).powi(2) + (dy / hh).powi(2)).sqrt(),
        Shape::Observed => {
            let tx = if dx != 0.0 { hw / dx.abs() } else { f64::INFINITY };
            let ty = if dy != 0.0 { hh / dy.abs() } else { f64::INFINITY };
            tx.min(ty)
        }
    };
    pt(c.x + dx * t, c.y + dy * t)
}

/// Lay the diagram out: panels stacked top to bottom, each with its title,
/// the notes under them, wrapped to the width (at least 640 px).
pub fn layout(d: &Diagram) -> Layout {
    let mut out = Layout {
        width: 0.0,
        height: 0.0,
        nodes: vec![],
        variances: vec![],
        edges: vec![],
        texts: vec![],
    };
    let mut y = MARGIN;
    let mut width: f64 = 0.0;
    for p in &d.panels {
        if let Some(t) = &p.title {
            out.texts.push(TextLine {
                text: t.clone(),
                x: MARGIN,
                y: y + TITLE_SIZE,
                size: TITLE_SIZE,
                bold: true,
            });
            width = width.max(MARGIN + text_width(t, TITLE_SIZE) * 1.1);
            y += TITLE_SIZE * 1.3 + 10.0;
        }
        let mut pl = layout_panel(p);
        let b = pl.bounds();
        pl.shift(MARGIN - b.x, y - b.y);
        width = width.max(MARGIN + b.w);
        y += b.h + 24.0;
        out.nodes.extend(pl.nodes);
        out.variances.extend(pl.variances);
        out.edges.extend(pl.edges);
    }
    // the notes, wrapped to the picture's width
    let wrap_at = (width - 2.0 * MARGIN).max(640.0);
    for note in &d.notes {
        for line in wrap(note, NOTE_SIZE, wrap_at) {
            out.texts.push(TextLine {
                text: line.clone(),
                x: MARGIN,
                y: y + NOTE_SIZE,
                size: NOTE_SIZE,
                bold: false,
            });
            width = width.max(MARGIN + text_width(&line, NOTE_SIZE));
            y += NOTE_SIZE * 1.45;
        }
    }
    out.width = (width + MARGIN).ceil();
    out.height = (y + MARGIN).ceil();
    out
}

/// Greedy word wrap at `max` px.
fn wrap(s: &str, size: f64, max: f64) -> Vec<String> {
    let mut lines = vec![];
    let mut cur = String::new();
    for w in s.split(' ') {
        let next = if cur.is_empty() { w.to_string() } else { format!("{cur} {w}") };
        if !cur.is_empty() && text_width(&next, size) > max {
            lines.push(std::mem::take(&mut cur));
            cur = w.to_string();
        } else {
            cur = next;
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// One panel's boxes and paths, in its own coordinates.
struct PanelLayout {
    nodes: Vec<NodeBox>,
    variances: Vec<VarianceBox>,
    edges: Vec<EdgePath>,
}

impl PanelLayout {
    /// everything drawn, control points of the curves included
    fn bounds(&self) -> Rect {
        let mut b: Option<Rect> = None;
        let mut add = |r: Rect| b = Some(b.map_or(r, |b: Rect| b.union(&r)));
        for n in &self.nodes {
            add(n.rect);
        }
        for v in &self.variances {
            add(v.rect);
        }
        for e in &self.edges {
            add(Rect::centered(e.start, 0.0, 0.0));
            for s in &e.segments {
                for p in s {
                    add(Rect::centered(*p, 0.0, 0.0));
                }
            }
            if let Some(l) = &e.label {
                add(l.rect);
            }
        }
        b.unwrap_or(Rect {
            x: 0.0,
            y: 0.0,
            w: 0.0,
            h: 0.0,
        })
    }

    fn shift(&mut self, dx: f64, dy: f64) {
        let mv = |p: &mut Point| {
            p.x += dx;
            p.y += dy;
        };
        for n in &mut self.nodes {
            n.rect.shift(dx, dy);
        }
        for v in &mut self.variances {
            v.rect.shift(dx, dy);
            mv(&mut v.from);
            mv(&mut v.to);
        }
        for e in &mut self.edges {
            mv(&mut e.start);
            for s in &mut e.segments {
                for p in s.iter_mut() {
                    mv(p);
                }
            }
            if let Some(l) = &mut e.label {
                l.rect.shift(dx, dy);
            }
        }
    }
}

/// A structural variable with its indicators, relative to its own centre.
struct Block {
    /// the indicators' centres relative to the factor's centre
    indicators: Vec<(usize, Point)>,
    /// everything of the block, relative to the factor's centre
    extent: Rect,
    fan: Fan,
}

fn layout_panel(p: &Panel) -> PanelLayout {
    let n = p.nodes.len();
    let sizes: Vec<(f64, f64)> = p
        .nodes
        .iter()
        .map(|v| node_size(&v.name, v.shape, v.r2.as_deref(), v.factor.is_some()))
        .collect();
    let structural: Vec<usize> = (0..n).filter(|&i| p.nodes[i].factor.is_none()).collect();
    let is_struct = |i: usize| p.nodes[i].factor.is_none();

    // 1. layers of the structural part
    let directed: Vec<(usize, usize)> = p
        .edges
        .iter()
        .filter(|e| e.kind != EdgeKind::Covariance && e.from != e.to && is_struct(e.from) && is_struct(e.to))
        .map(|e| (e.from, e.to))
        .collect();
    let forward = break_cycles(n, &structural, &directed);
    let mut layer = vec![0usize; n];
    // longest path: relax |V| times over the acyclic orientation
    for _ in 0..structural.len() {
        let mut changed = false;
        for &(a, b) in &forward {
            if layer[b] < layer[a] + 1 {
                layer[b] = layer[a] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let nlayers = structural.iter().map(|&i| layer[i] + 1).max().unwrap_or(1);

    // items: the structural nodes (ids 0..n) and the bend points of long paths (ids n..)
    let mut item_layer: Vec<usize> = layer.clone();
    let mut neighbours: Vec<Vec<usize>> = vec![vec![]; n];
    // the chain of items of each directed edge, from its low layer to its high one
    let mut chains: Vec<Vec<usize>> = vec![];
    for &(a, b) in &forward {
        let mut chain = vec![a];
        for l in layer[a] + 1..layer[b] {
            item_layer.push(l);
            neighbours.push(vec![]);
            chain.push(item_layer.len() - 1);
        }
        chain.push(b);
        for w in chain.windows(2) {
            neighbours[w[0]].push(w[1]);
            neighbours[w[1]].push(w[0]);
        }
        chains.push(chain);
    }
    let nitems = item_layer.len();
    let mut layers: Vec<Vec<usize>> = vec![vec![]; nlayers];
    for &i in &structural {
        layers[layer[i]].push(i);
    }
    for (i, &l) in item_layer.iter().enumerate().skip(n) {
        layers[l].push(i);
    }

    // 2. order within layers: barycentre sweeps
    let mut pos = vec![0.0f64; nitems];
    let set_pos = |layers: &Vec<Vec<usize>>, pos: &mut Vec<f64>| {
        for l in layers {
            for (k, &i) in l.iter().enumerate() {
                pos[i] = k as f64;
            }
        }
    };
    set_pos(&layers, &mut pos);
    for sweep in 0..8 {
        let range: Vec<usize> = if sweep % 2 == 0 {
            (1..nlayers).collect()
        } else {
            (0..nlayers.saturating_sub(1)).rev().collect()
        };
        for l in range {
            let adjacent = if sweep % 2 == 0 { l - 1 } else { l + 1 };
            let key: Vec<(f64, usize)> = layers[l]
                .iter()
                .map(|&i| {
                    let nb: Vec<f64> = neighbours[i]
                        .iter()
                        .filter(|&&j| item_layer[j] == adjacent)
                        .map(|&j| pos[j])
                        .collect();
                    let bc = if nb.is_empty() {
                        pos[i]
                    } else {
                        nb.iter().sum::<f64>() / nb.len() as f64
                    };
                    (bc, i)
                })
                .collect();
            let mut sorted = key.clone();
            // stable: ties keep the current order
            sorted.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
            layers[l] = sorted.iter().map(|&(_, i)| i).collect();
            for (k, &i) in layers[l].iter().enumerate() {
                pos[i] = k as f64;
            }
        }
    }

    // 3. blocks: each structural variable with its indicators fanned beside it
    let mut blocks: Vec<Option<Block>> = (0..n).map(|_| None).collect();
    for (l, items) in layers.iter().enumerate() {
        let reals: Vec<usize> = items.iter().copied().filter(|&i| i < n).collect();
        for (k, &i) in reals.iter().enumerate() {
            let fan = if l == 0 {
                Fan::Left
            } else if l + 1 == nlayers {
                Fan::Right
            } else if 2 * k < reals.len() {
                Fan::Above
            } else {
                Fan::Below
            };
            blocks[i] = Some(block(p, i, fan, &sizes));
        }
    }
    let half = |i: usize| -> (f64, f64) {
        // (above, below) the item's centre
        match blocks.get(i).and_then(|b| b.as_ref()) {
            Some(b) => (-b.extent.y, b.extent.bottom()),
            None => (DUMMY_HALF, DUMMY_HALF),
        }
    };

    // 4. columns and vertical positions
    let mut col_x = vec![0.0f64; nlayers];
    // the left and right ends of each layer's blocks
    let mut col_l = vec![0.0f64; nlayers];
    let mut col_r = vec![0.0f64; nlayers];
    let mut x = 0.0;
    for l in 0..nlayers {
        let left = layers[l]
            .iter()
            .filter_map(|&i| blocks.get(i).and_then(|b| b.as_ref()).map(|b| -b.extent.x))
            .fold(0.0, f64::max);
        let right = layers[l]
            .iter()
            .filter_map(|&i| blocks.get(i).and_then(|b| b.as_ref()).map(|b| b.extent.right()))
            .fold(0.0, f64::max);
        col_x[l] = x + left;
        col_l[l] = x;
        col_r[l] = col_x[l] + right;
        x = col_x[l] + right + COL_GAP;
    }
    let mut y = vec![0.0f64; nitems];
    let seps = |items: &[usize]| -> Vec<f64> {
        items
            .windows(2)
            .map(|w| {
                let gap = if w[0] >= n || w[1] >= n { BLOCK_GAP / 2.0 } else { BLOCK_GAP };
                half(w[0]).1 + gap + half(w[1]).0
            })
            .collect()
    };
    for items in &layers {
        let s = seps(items);
        let mut acc = 0.0;
        for (k, &i) in items.iter().enumerate() {
            if k > 0 {
                acc += s[k - 1];
            }
            y[i] = acc;
        }
        let mid = acc / 2.0;
        for &i in items {
            y[i] -= mid;
        }
    }
    for sweep in 0..12 {
        let order: Vec<usize> = if sweep % 2 == 0 {
            (0..nlayers).collect()
        } else {
            (0..nlayers).rev().collect()
        };
        for l in order {
            let items = &layers[l];
            let want: Vec<f64> = items
                .iter()
                .map(|&i| {
                    if neighbours[i].is_empty() {
                        y[i]
                    } else {
                        neighbours[i].iter().map(|&j| y[j]).sum::<f64>() / neighbours[i].len() as f64
                    }
                })
                .collect();
            let placed = project(&want, &seps(items));
            for (k, &i) in items.iter().enumerate() {
                y[i] = placed[k];
            }
        }
    }

    // absolute boxes
    let mut centres: Vec<Point> = vec![pt(0.0, 0.0); n];
    let mut fans: Vec<Option<Fan>> = vec![None; n];
    for &i in &structural {
        let c = pt(col_x[layer[i]], y[i]);
        centres[i] = c;
        if let Some(b) = &blocks[i] {
            fans[i] = Some(b.fan);
            for &(j, off) in &b.indicators {
                centres[j] = pt(c.x + off.x, c.y + off.y);
                fans[j] = Some(b.fan);
            }
        }
    }
    // an indicator whose factor is not drawn (cannot happen with a valid panel) stays at the origin
    let nodes: Vec<NodeBox> = (0..n)
        .map(|i| NodeBox {
            name: p.nodes[i].name.clone(),
            shape: p.nodes[i].shape,
            rect: Rect::centered(centres[i], sizes[i].0, sizes[i].1),
            r2: p.nodes[i].r2.clone(),
            indicator: p.nodes[i].factor.is_some(),
        })
        .collect();
    let mut variances = vec![];
    for i in 0..n {
        if let Some(text) = &p.nodes[i].variance {
            let (vw, vh) = variance_size(text);
            let side = variance_side(p.nodes[i].factor.is_some(), fans[i]);
            let r = nodes[i].rect;
            let c = match side {
                Fan::Left => pt(r.x - VAR_GAP - vw / 2.0, r.center().y),
                Fan::Right => pt(r.right() + VAR_GAP + vw / 2.0, r.center().y),
                Fan::Above => pt(r.center().x, r.y - VAR_GAP - vh / 2.0),
                Fan::Below => pt(r.center().x, r.bottom() + VAR_GAP + vh / 2.0),
            };
            let rect = Rect::centered(c, vw, vh);
            let from = boundary(&rect, Shape::Latent, r.center());
            let to = boundary(&r, nodes[i].shape, c);
            variances.push(VarianceBox {
                text: text.clone(),
                rect,
                from,
                to,
            });
        }
    }

    // 5. paths and their labels
    let mut var_rects: Vec<Option<Rect>> = vec![None; n];
    let mut k = 0;
    for (i, v) in p.nodes.iter().enumerate() {
        if v.variance.is_some() {
            var_rects[i] = Some(variances[k].rect);
            k += 1;
        }
    }
    let mut obstacles: Vec<Rect> = nodes.iter().map(|b| b.rect.grow(2.0)).collect();
    obstacles.extend(variances.iter().map(|v| v.rect.grow(1.0)));
    let mut edges: Vec<EdgePath> = vec![];
    let mut placed: Vec<Rect> = vec![];
    let centre_all = {
        let (mut sx, mut sy) = (0.0, 0.0);
        for b in &nodes {
            sx += b.rect.center().x;
            sy += b.rect.center().y;
        }
        pt(sx / n.max(1) as f64, sy / n.max(1) as f64)
    };
    // regressions first (they carry the hypotheses), then loadings, then covariances
    let mut order: Vec<usize> = (0..p.edges.len()).collect();
    order.sort_by_key(|&k| match p.edges[k].kind {
        EdgeKind::Regression => 0,
        EdgeKind::Loading if is_struct(p.edges[k].to) => 0,
        EdgeKind::Loading => 1,
        EdgeKind::Covariance => 2,
    });
    let mut paths: Vec<Option<EdgePath>> = vec![None; p.edges.len()];
    for k in order {
        let e = &p.edges[k];
        let (a, b) = (e.from, e.to);
        let mut path = match e.kind {
            EdgeKind::Covariance => covariance_path(&nodes, &var_rects, a, b, &fans, &layer, nlayers, centre_all),
            _ => {
                let reverse = p.edges.iter().any(|o| o.kind != EdgeKind::Covariance && o.from == b && o.to == a);
                let chain = chains
                    .iter()
                    .find(|c| (c[0] == a && c[c.len() - 1] == b) || (c[0] == b && c[c.len() - 1] == a));
                let mut pts: Vec<Point> = match chain {
                    Some(c) if c.len() > 2 => c
                        .iter()
                        .map(|&i| if i < n { centres[i] } else { pt(col_x[item_layer[i]], y[i]) })
                        .collect(),
                    _ => vec![centres[a], centres[b]],
                };
                if pts.first() != Some(&centres[a]) {
                    pts.reverse();
                }
                // a path that would run under a box is routed instead: level out
                // of its layer, across the gap, level through every layer it
                // crosses (in its bend point's free slot) and level into its target
                let direct = arrow_path(&nodes, a, b, pts.clone(), e.kind);
                if !reverse && crosses(&direct, &nodes, &variances, a, b) {
                    if let Some(c) = chain {
                        let at = |i: usize| if i < n { centres[i] } else { pt(col_x[item_layer[i]], y[i]) };
                        let (lo, hi) = (c[0], c[c.len() - 1]);
                        // a level stub only where the layer reaches beyond the box
                        let mut routed = vec![centres[lo]];
                        if col_r[layer[lo]] - nodes[lo].rect.right() > 12.0 {
                            routed.push(pt(col_r[layer[lo]] + 4.0, centres[lo].y));
                        }
                        for &d in &c[1..c.len() - 1] {
                            let q = at(d);
                            routed.push(pt(col_l[item_layer[d]] - 4.0, q.y));
                            routed.push(pt(col_r[item_layer[d]] + 4.0, q.y));
                        }
                        if nodes[hi].rect.x - col_l[layer[hi]] > 12.0 {
                            routed.push(pt(col_l[layer[hi]] - 4.0, centres[hi].y));
                        }
                        routed.push(centres[hi]);
                        if lo != a {
                            routed.reverse();
                        }
                        let candidate = arrow_path(&nodes, a, b, routed.clone(), e.kind);
                        if !crosses(&candidate, &nodes, &variances, a, b) || c.len() > 2 {
                            pts = routed;
                        }
                    }
                }
                if reverse {
                    // two arrows between the same variables: each drawn a little to its side
                    let (dx, dy) = (pts[pts.len() - 1].x - pts[0].x, pts[pts.len() - 1].y - pts[0].y);
                    let len = (dx * dx + dy * dy).sqrt().max(1e-9);
                    let (ox, oy) = (-dy / len * 6.0, dx / len * 6.0);
                    for q in pts.iter_mut() {
                        q.x += ox;
                        q.y += oy;
                    }
                }
                arrow_path(&nodes, a, b, pts, e.kind)
            }
        };
        path.dashed = e.dashed;
        if !e.label.is_empty() {
            let ts: &[f64] = match e.kind {
                EdgeKind::Loading if !is_struct(b) && matches!(fans[b], Some(Fan::Above | Fan::Below)) => {
                    &[ROW_LABEL_T, 0.58, 0.8, 0.48, 0.38]
                }
                EdgeKind::Loading if !is_struct(b) => &[0.62, 0.45, 0.78, 0.35, 0.88, 0.25, 0.55, 0.7],
                EdgeKind::Covariance => &[0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8],
                _ => &[0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78, 0.45, 0.55],
            };
            let (w, h) = (text_width(&e.label, LABEL_SIZE) + 6.0, LABEL_SIZE + 5.0);
            let mut best: Option<(f64, Rect)> = None;
            for &t in ts {
                let r = Rect::centered(point_at(&path, t), w, h);
                let cost: f64 = obstacles.iter().chain(placed.iter()).map(|o| r.overlap_area(o)).sum();
                if best.is_none_or(|(c, _)| cost < c) {
                    best = Some((cost, r));
                }
                if cost == 0.0 {
                    break;
                }
            }
            if let Some((_, r)) = best {
                placed.push(r);
                path.label = Some(Label {
                    text: e.label.clone(),
                    rect: r,
                });
            }
        }
        paths[k] = Some(path);
    }
    edges.extend(paths.into_iter().flatten());
    PanelLayout { nodes, variances, edges }
}

/// Whether a path runs under a box other than its own two ends.
fn crosses(e: &EdgePath, nodes: &[NodeBox], variances: &[VarianceBox], a: usize, b: usize) -> bool {
    let boxes: Vec<Rect> = nodes
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != a && i != b)
        .map(|(_, n)| n.rect.grow(-1.0))
        .chain(variances.iter().map(|v| v.rect.grow(-1.0)))
        .collect();
    (1..80).any(|k| {
        let p = point_at(e, k as f64 / 80.0);
        boxes.iter().any(|r| p.x > r.x && p.x < r.right() && p.y > r.y && p.y < r.bottom())
    })
}

/// The side of a variable where its variance goes: outside the fan for an
/// indicator; for a structural variable opposite its indicators.
fn variance_side(indicator: bool, fan: Option<Fan>) -> Fan {
    match (indicator, fan) {
        (true, Some(f)) => f,
        (false, Some(Fan::Above)) => Fan::Below,
        _ => Fan::Above,
    }
}

/// The block of structural variable `i`: its indicators fanned on side `fan`.
fn block(p: &Panel, i: usize, fan: Fan, sizes: &[(f64, f64)]) -> Block {
    let (w, h) = sizes[i];
    let inds: Vec<usize> = (0..p.nodes.len()).filter(|&j| p.nodes[j].factor == Some(i)).collect();
    let var_extra = |j: usize| -> (f64, f64) {
        p.nodes[j].variance.as_deref().map_or((0.0, 0.0), |t| {
            let (vw, vh) = variance_size(t);
            (vw + VAR_GAP, vh + VAR_GAP)
        })
    };
    let mut extent = Rect::centered(pt(0.0, 0.0), w, h);
    let mut placed = vec![];
    match fan {
        Fan::Left | Fan::Right => {
            let slot_h: Vec<f64> = inds.iter().map(|&j| sizes[j].1.max(variance_size("").1)).collect();
            let total: f64 = slot_h.iter().sum::<f64>() + IND_GAP * (inds.len().saturating_sub(1)) as f64;
            let col_w = inds.iter().map(|&j| sizes[j].0).fold(0.0, f64::max);
            let sign = if fan == Fan::Left { -1.0 } else { 1.0 };
            let cx = sign * (w / 2.0 + STACK_GAP + col_w / 2.0);
            let mut yy = -total / 2.0;
            for (k, &j) in inds.iter().enumerate() {
                let c = pt(cx, yy + slot_h[k] / 2.0);
                yy += slot_h[k] + IND_GAP;
                placed.push((j, c));
                let (vw, _) = var_extra(j);
                let r = Rect::centered(c, col_w + 2.0 * vw, sizes[j].1);
                extent = extent.union(&r);
            }
        }
        Fan::Above | Fan::Below => {
            // a slot is wide enough for the box, its variance and its loading's
            // label where the label sits (0.7 of the way from the factor)
            let label_w = |j: usize| {
                p.edges
                    .iter()
                    .find(|e| e.kind == EdgeKind::Loading && e.from == i && e.to == j)
                    .map_or(0.0, |e| (text_width(&e.label, LABEL_SIZE) + 10.0) / ROW_LABEL_T - IND_GAP)
            };
            let slot_w: Vec<f64> = inds
                .iter()
                .map(|&j| {
                    sizes[j]
                        .0
                        .max(p.nodes[j].variance.as_deref().map_or(0.0, |t| variance_size(t).0))
                        .max(label_w(j))
                })
                .collect();
            let total: f64 = slot_w.iter().sum::<f64>() + IND_GAP * (inds.len().saturating_sub(1)) as f64;
            let row_h = inds.iter().map(|&j| sizes[j].1).fold(0.0, f64::max);
            let sign = if fan == Fan::Above { -1.0 } else { 1.0 };
            let cy = sign * (h / 2.0 + ROW_GAP + row_h / 2.0);
            let mut xx = -total / 2.0;
            for (k, &j) in inds.iter().enumerate() {
                let c = pt(xx + slot_w[k] / 2.0, cy);
                xx += slot_w[k] + IND_GAP;
                placed.push((j, c));
                let (_, vh) = var_extra(j);
                let r = Rect::centered(c, slot_w[k], sizes[j].1 + 2.0 * vh);
                extent = extent.union(&r);
            }
        }
    }
    if let Some(t) = &p.nodes[i].variance {
        let (vw, vh) = variance_size(t);
        let side = variance_side(false, Some(fan));
        let dy = h / 2.0 + VAR_GAP + vh;
        let r = Rect::centered(pt(0.0, if side == Fan::Below { dy - vh / 2.0 } else { -dy + vh / 2.0 }), vw, vh);
        extent = extent.union(&r);
    }
    Block {
        indicators: placed,
        extent,
        fan,
    }
}

/// The edges of `directed` oriented so that they form no cycle: a
/// depth-first search in the variables' order turns round every edge that
/// points back into its own stack.
fn break_cycles(n: usize, structural: &[usize], directed: &[(usize, usize)]) -> Vec<(usize, usize)> {
    #[derive(Clone, Copy, PartialEq)]
    enum St {
        New,
        Open,
        Done,
    }
    let mut state = vec![St::New; n];
    let mut back = vec![false; directed.len()];
    for &root in structural {
        if state[root] != St::New {
            continue;
        }
        // iterative DFS: (node, next edge index to look at)
        let mut stack = vec![(root, 0usize)];
        state[root] = St::Open;
        while let Some(&mut (v, ref mut k)) = stack.last_mut() {
            if let Some(e) = (*k..directed.len()).find(|&e| directed[e].0 == v) {
                *k = e + 1;
                let w = directed[e].1;
                match state[w] {
                    St::New => {
                        state[w] = St::Open;
                        stack.push((w, 0));
                    }
                    St::Open => back[e] = true,
                    St::Done => {}
                }
            } else {
                state[v] = St::Done;
                stack.pop();
            }
        }
    }
    let mut out: Vec<(usize, usize)> = vec![];
    for (e, &(a, b)) in directed.iter().enumerate() {
        let d = if back[e] { (b, a) } else { (a, b) };
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

/// The positions closest (least squares) to `want` that keep neighbour
/// `k + 1` at least `sep[k]` below neighbour `k`: with `z = y - c` (c the
/// running sum of the gaps) the constraint is `z` non-decreasing, an
/// isotonic regression solved by pool-adjacent-violators.
fn project(want: &[f64], sep: &[f64]) -> Vec<f64> {
    let mut c = vec![0.0; want.len()];
    for k in 1..want.len() {
        c[k] = c[k - 1] + sep[k - 1];
    }
    // blocks of (sum, count)
    let mut blocks: Vec<(f64, usize)> = vec![];
    for (k, &w) in want.iter().enumerate() {
        blocks.push((w - c[k], 1));
        while blocks.len() > 1 {
            let (s1, n1) = blocks[blocks.len() - 1];
            let (s0, n0) = blocks[blocks.len() - 2];
            if s0 / n0 as f64 > s1 / n1 as f64 {
                blocks.pop();
                let last = blocks.len() - 1;
                blocks[last] = (s0 + s1, n0 + n1);
            } else {
                break;
            }
        }
    }
    let mut out = Vec::with_capacity(want.len());
    for (s, m) in blocks {
        for _ in 0..m {
            out.push(s / m as f64);
        }
    }
    for (k, o) in out.iter_mut().enumerate() {
        *o += c[k];
    }
    out
}

/// A one-headed arrow from `a` to `b` through `pts` (centres and bend points),
/// clipped at the two shapes; a smooth curve through the bend points.
fn arrow_path(nodes: &[NodeBox], a: usize, b: usize, mut pts: Vec<Point>, kind: EdgeKind) -> EdgePath {
    let last = pts.len() - 1;
    pts[0] = boundary(&nodes[a].rect, nodes[a].shape, pts[1]);
    pts[last] = boundary(&nodes[b].rect, nodes[b].shape, pts[last - 1]);
    let straight = pts.len() == 2;
    let segments = if straight {
        let (p0, p1) = (pts[0], pts[1]);
        vec![[lerp(p0, p1, 1.0 / 3.0), lerp(p0, p1, 2.0 / 3.0), p1]]
    } else {
        catmull_rom(&pts)
    };
    EdgePath {
        kind,
        dashed: false,
        start: pts[0],
        segments,
        straight,
        head_start: false,
        head_end: true,
        label: None,
    }
}

fn lerp(a: Point, b: Point, t: f64) -> Point {
    pt(a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t)
}

/// Cubic Bézier segments of the Catmull-Rom spline through `pts`.
fn catmull_rom(pts: &[Point]) -> Vec<[Point; 3]> {
    let n = pts.len();
    (0..n - 1)
        .map(|i| {
            let p0 = pts[i.saturating_sub(1)];
            let p1 = pts[i];
            let p2 = pts[i + 1];
            let p3 = pts[(i + 2).min(n - 1)];
            let c1 = pt(p1.x + (p2.x - p0.x) / 6.0, p1.y + (p2.y - p0.y) / 6.0);
            let c2 = pt(p2.x - (p3.x - p1.x) / 6.0, p2.y - (p3.y - p1.y) / 6.0);
            [c1, c2, p2]
        })
        .collect()
}

/// The point at `t` in [0, 1] along the path (by segment, then Bézier parameter).
pub fn point_at(e: &EdgePath, t: f64) -> Point {
    let m = e.segments.len() as f64;
    let s = (t * m).min(m - 1e-9).max(0.0);
    let k = s.floor() as usize;
    let u = s - k as f64;
    let p0 = if k == 0 { e.start } else { e.segments[k - 1][2] };
    let [c1, c2, p1] = e.segments[k];
    let v = 1.0 - u;
    pt(
        v * v * v * p0.x + 3.0 * v * v * u * c1.x + 3.0 * v * u * u * c2.x + u * u * u * p1.x,
        v * v * v * p0.y + 3.0 * v * v * u * c1.y + 3.0 * v * u * u * c2.y + u * u * u * p1.y,
    )
}

/// A two-headed curved arrow between `a` and `b`. Two variables stacked in
/// one column (or set in one row) get an arc on the free side; any other
/// pair a curve bowed away from the middle of the picture.
#[allow(clippy::too_many_arguments)]
fn covariance_path(
    nodes: &[NodeBox],
    var_rects: &[Option<Rect>],
    a: usize,
    b: usize,
    fans: &[Option<Fan>],
    layer: &[usize],
    nlayers: usize,
    centre: Point,
) -> EdgePath {
    let (ra, rb) = (nodes[a].rect, nodes[b].rect);
    let (ca, cb) = (ra.center(), rb.center());
    let same_col = (ca.x - cb.x).abs() < 1.0;
    let same_row = (ca.y - cb.y).abs() < 1.0;
    let both_ind = nodes[a].indicator && nodes[b].indicator;
    // the side the arc bows to
    let side = if same_col {
        if both_ind {
            Some(if fans[a] == Some(Fan::Right) { Fan::Right } else { Fan::Left })
        } else if !nodes[a].indicator && !nodes[b].indicator && nlayers > 1 && layer[a] + 1 == nlayers {
            Some(Fan::Left)
        } else {
            Some(Fan::Right)
        }
    } else if same_row && both_ind {
        Some(if fans[a] == Some(Fan::Below) { Fan::Below } else { Fan::Above })
    } else {
        None
    };
    let (p0, c1, c2, p1) = match side {
        Some(s) => {
            let (dx, dy) = match s {
                Fan::Left => (-1.0, 0.0),
                Fan::Right => (1.0, 0.0),
                Fan::Above => (0.0, -1.0),
                Fan::Below => (0.0, 1.0),
            };
            let span = if dx != 0.0 { (ca.y - cb.y).abs() } else { (ca.x - cb.x).abs() };
            let bulge = 26.0 + 0.28 * span;
            // leave each box a little towards the other one
            let toward = |c: Point, o: Point, r: &Rect| -> Point {
                if dx != 0.0 {
                    let s = if o.y > c.y { 1.0 } else { -1.0 };
                    pt(c.x + dx * r.w, c.y + s * r.h * 0.35)
                } else {
                    let s = if o.x > c.x { 1.0 } else { -1.0 };
                    pt(c.x + s * r.w * 0.3, c.y + dy * r.h)
                }
            };
            let p0 = boundary(&ra, nodes[a].shape, toward(ca, cb, &ra));
            let p1 = boundary(&rb, nodes[b].shape, toward(cb, ca, &rb));
            // the control points sit on one line beyond the farther box edge
            // (and beyond the variance circles on that side)
            let vr: Vec<Rect> = [a, b].iter().filter_map(|&i| var_rects[i]).collect();
            let (c1, c2) = if dx != 0.0 {
                let edge = if dx > 0.0 {
                    vr.iter().map(Rect::right).fold(p0.x.max(p1.x), f64::max)
                } else {
                    vr.iter().map(|r| r.x).fold(p0.x.min(p1.x), f64::min)
                };
                (pt(edge + dx * bulge, p0.y), pt(edge + dx * bulge, p1.y))
            } else {
                let edge = if dy > 0.0 {
                    vr.iter().map(Rect::bottom).fold(p0.y.max(p1.y), f64::max)
                } else {
                    vr.iter().map(|r| r.y).fold(p0.y.min(p1.y), f64::min)
                };
                (pt(p0.x, edge + dy * bulge), pt(p1.x, edge + dy * bulge))
            };
            (p0, c1, c2, p1)
        }
        None => {
            let mid = lerp(ca, cb, 0.5);
            let (dx, dy) = (cb.x - ca.x, cb.y - ca.y);
            let len = (dx * dx + dy * dy).sqrt().max(1e-9);
            let (mut nx, mut ny) = (-dy / len, dx / len);
            // bow away from the middle of the panel
            if (mid.x - centre.x) * nx + (mid.y - centre.y) * ny < 0.0 {
                nx = -nx;
                ny = -ny;
            }
            let bow = 0.22 * len + 12.0;
            let ctrl = pt(mid.x + nx * bow, mid.y + ny * bow);
            let p0 = boundary(&ra, nodes[a].shape, ctrl);
            let p1 = boundary(&rb, nodes[b].shape, ctrl);
            (p0, lerp(p0, ctrl, 0.8), lerp(p1, ctrl, 0.8), p1)
        }
    };
    EdgePath {
        kind: EdgeKind::Covariance,
        dashed: false,
        start: p0,
        segments: vec![[c1, c2, p1]],
        straight: false,
        head_start: true,
        head_end: true,
        label: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_keeps_gaps_and_order() {
        let y = project(&[0.0, 0.0, 0.0], &[10.0, 10.0]);
        assert_eq!(y, vec![-10.0, 0.0, 10.0]);
        let y = project(&[0.0, 100.0], &[10.0]);
        assert_eq!(y, vec![0.0, 100.0]);
    }

    #[test]
    fn cycles_are_broken() {
        let f = break_cycles(3, &[0, 1, 2], &[(0, 1), (1, 2), (2, 0)]);
        assert_eq!(f, vec![(0, 1), (1, 2), (0, 2)]);
    }

    #[test]
    fn ellipse_boundary_is_on_the_ellipse() {
        let r = Rect::centered(pt(0.0, 0.0), 80.0, 40.0);
        let b = boundary(&r, Shape::Latent, pt(100.0, 100.0));
        assert!(((b.x / 40.0).powi(2) + (b.y / 20.0).powi(2) - 1.0).abs() < 1e-12);
        let b = boundary(&r, Shape::Observed, pt(100.0, 10.0));
        assert_eq!(b, pt(40.0, 4.0));
    }
}
