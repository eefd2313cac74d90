//! The report's HTML: escaping, embedded PNGs as `data:` URIs, tables, sections with a table of
//! contents, and the page shell with its inline style and a small self-check script.

use std::fmt::Write as _;

/// Written at the top of every report: what `uq report` looks for before replacing a report.html.
pub(super) const GENERATOR: &str = r#"<meta name="generator" content="uq report">"#;

/// The page's style (inline: the report needs no network).
const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1200px;margin:0 auto;padding:16px 24px 48px}
nav{background:#243b53;color:#fff;padding:10px 24px;position:sticky;top:0;z-index:1}
nav a{color:#d9e2ec;margin-right:14px;text-decoration:none;font-size:13px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid #bcccdc;padding-bottom:3px}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px;background:#fff}
th,td{border:1px solid #d9e2ec;padding:3px 8px;text-align:right;white-space:nowrap}
th{background:#f0f4f8}td:first-child,th:first-child{text-align:left}
pre{background:#fff;border:1px solid #d9e2ec;padding:8px 10px;overflow:auto;font-size:12.5px;max-height:480px}
.reason{background:#e6f6ff;border-left:4px solid #2680c2;padding:6px 10px;margin:8px 0}
.warn{background:#fffbea;border-left:4px solid #f0b429;padding:6px 10px;margin:6px 0}
.none{color:#627d98;font-style:italic}
.grid{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
figure{margin:0;background:#fff;border:1px solid #d9e2ec;padding:6px}
figcaption{font-size:12px;color:#486581;max-width:380px;margin-top:4px}
img{image-rendering:pixelated;display:block;max-width:100%;height:auto}
svg.plot{font:10px sans-serif;display:block;background:#fff}
.kv td{text-align:left}
";

/// Sets `data-uq-check` on <body> once loaded: `ok N images` when every image decoded and no script
/// error happened, else what failed (what the headless-Chromium check reads back).
const SCRIPT: &str = "
(function(){var errs=[];window.onerror=function(m){errs.push(String(m));};
window.addEventListener('load',function(){var imgs=document.images,bad=0;
for(var i=0;i<imgs.length;i++){if(!imgs[i].complete||imgs[i].naturalWidth===0)bad++;}
document.body.setAttribute('data-uq-check',(errs.length||bad)?('fail '+bad+' broken images; '+errs.join(' | ')):('ok '+imgs.length+' images'));});})();
";

/// `s` with `& < > " '` escaped for text and attribute values.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A figure holding an embedded PNG.
pub(super) fn png_figure(png: &[u8], alt: &str, caption: &str) -> String {
    format!(
        r#"<figure><img alt="{}" src="data:image/png;base64,{}"><figcaption>{}</figcaption></figure>"#,
        esc(alt),
        base64::encode(png),
        caption
    )
}

/// A figure holding inline SVG.
pub(super) fn svg_figure(svg: &str, caption: &str) -> String {
    format!("<figure>{svg}<figcaption>{caption}</figcaption></figure>")
}

/// A table: a header row and rows of cells (the cells are HTML, escape text before).
pub(super) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::from("<table><tr>");
    for h in header {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr>");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            let _ = write!(s, "<td>{c}</td>");
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    s
}

/// Key–value rows (values are HTML).
pub(super) fn kv(rows: &[(&str, String)]) -> String {
    let mut s = String::from(r#"<table class="kv">"#);
    for (k, v) in rows {
        let _ = write!(s, "<tr><th>{}</th><td>{v}</td></tr>", esc(k));
    }
    s.push_str("</table>");
    s
}

/// A paragraph saying that something is not there (and why).
pub(super) fn none(text: &str) -> String {
    format!(r#"<p class="none">{}</p>"#, esc(text))
}

/// The page being built: sections in order, each listed in the navigation bar.
#[derive(Default)]
pub(super) struct Page {
    body: String,
    toc: Vec<(String, String)>,
}

impl Page {
    /// Start a section (`id` must be unique in the page).
    pub fn section(&mut self, id: &str, title: &str) {
        self.toc.push((id.to_string(), title.to_string()));
        let _ = write!(self.body, r#"<h2 id="{}">{}</h2>"#, esc(id), esc(title));
    }

    /// Append HTML to the current section.
    pub fn push(&mut self, html: &str) {
        self.body.push_str(html);
        self.body.push('\n');
    }

    /// The whole document.
    pub fn finish(self, title: &str, heading: &str) -> String {
        let mut nav = String::new();
        for (id, t) in &self.toc {
            let _ = write!(nav, r##"<a href="#{}">{}</a>"##, esc(id), esc(t));
        }
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head>{GENERATOR}<meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{}</title><style>{STYLE}</style><script>{SCRIPT}</script></head>\n\
             <body><nav>{nav}</nav><main><h1>{heading}</h1>\n{}</main></body></html>\n",
            esc(title),
            self.body
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_embeds() {
        assert_eq!(esc(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        let f = png_figure(&[1, 2, 3], "a<b", "cap");
        assert!(f.contains(r#"src="data:image/png;base64,AQID""#) && f.contains("a&lt;b"));
        let mut p = Page::default();
        p.section("s1", "One & two");
        p.push("<p>x</p>");
        let doc = p.finish("t", "h");
        assert!(doc.starts_with("<!DOCTYPE html>\n<html lang=\"en\"><head>") && doc.contains(GENERATOR));
        assert!(doc.contains(r##"<a href="#s1">One &amp; two</a>"##));
    }
}
