//! [`Svg`]: a finished picture, shown inline by evcxr.

use std::fmt;
use std::ops::Deref;

/// An SVG picture: a graph drawn by [`Graph::to_svg`](crate::graph::Graph::to_svg)
/// or a chart from [`chainrule::plot`](crate::plot).
///
/// It reads as a `&str` (it dereferences to one), writes to a file with
/// [`Svg::save`], and shows inline in an evcxr notebook when it is the last
/// expression of a cell.
///
/// ```
/// use chainrule::Svg;
///
/// let svg = Svg::from(String::from("<svg xmlns=\"http://www.w3.org/2000/svg\"/>"));
/// assert!(svg.starts_with("<svg"));
/// assert_eq!(svg.as_str(), svg.to_string());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Svg(String);

impl Svg {
    /// The SVG text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SVG text, owned.
    pub fn into_string(self) -> String {
        self.0
    }

    /// Writes the picture to `path`.
    ///
    /// # Errors
    ///
    /// The I/O error of writing the file.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        std::fs::write(path, &self.0)
    }

    /// Shows the picture in an evcxr notebook. Prints by design: evcxr
    /// reads rich output from standard output.
    pub fn evcxr_display(&self) {
        print!("{}", self.evcxr_content());
    }

    /// What [`Svg::evcxr_display`] prints: the picture, and a plain-text
    /// line for front ends that cannot show SVG.
    ///
    /// ```
    /// let svg = chainrule::Svg::from(String::from("<svg/>"));
    /// let shown = svg.evcxr_content();
    /// assert!(shown.starts_with("EVCXR_BEGIN_CONTENT image/svg+xml\n<svg/>\nEVCXR_END_CONTENT\n"));
    /// assert!(shown.contains("EVCXR_BEGIN_CONTENT text/plain\nSvg(6 bytes)\n"));
    /// ```
    #[doc(hidden)]
    pub fn evcxr_content(&self) -> String {
        super::notebook::block("image/svg+xml", &self.0)
            + &super::notebook::block("text/plain", &format!("Svg({} bytes)", self.0.len()))
    }
}

impl From<String> for Svg {
    fn from(text: String) -> Self {
        Svg(text)
    }
}

impl From<Svg> for String {
    fn from(svg: Svg) -> Self {
        svg.0
    }
}

impl Deref for Svg {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Svg {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl AsRef<[u8]> for Svg {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Display for Svg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An HTML document: the explorer of a graph
/// ([`Graph::explorer`](crate::graph::Graph::explorer)), self-contained (inline
/// CSS and JavaScript, nothing fetched).
///
/// Like [`Svg`], it reads as a `&str`, writes to a file with
/// [`Html::save`], and shows inline in an evcxr notebook (as `text/html`)
/// when it is the last expression of a cell.
///
/// ```
/// let html = chainrule::graph::Html::from(String::from("<p>hi</p>"));
/// assert_eq!(html.as_str(), "<p>hi</p>");
/// assert!(html.evcxr_content().starts_with("EVCXR_BEGIN_CONTENT text/html\n<p>hi</p>"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Html {
    text: String,
    /// The picture alone, for notebook viewers that drop HTML.
    picture: Option<String>,
}

impl Html {
    /// An explorer's document, with its picture alone as a fallback.
    pub(crate) fn with_picture(text: String, picture: String) -> Html {
        Html {
            text,
            picture: Some(picture),
        }
    }

    /// The HTML text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The HTML text, owned.
    pub fn into_string(self) -> String {
        self.text
    }

    /// Writes the document to `path` (open it in a browser).
    ///
    /// # Errors
    ///
    /// The I/O error of writing the file.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        std::fs::write(path, &self.text)
    }

    /// Shows the document in an evcxr notebook. Prints by design: evcxr
    /// reads rich output from standard output.
    pub fn evcxr_display(&self) {
        print!("{}", self.evcxr_content());
    }

    /// What [`Html::evcxr_display`] prints: the document; an explorer's
    /// picture alone, for viewers that drop HTML (a notebook shows one of
    /// the two, the document where it can); and a plain-text line.
    #[doc(hidden)]
    pub fn evcxr_content(&self) -> String {
        let mut shown = super::notebook::block("text/html", &self.text);
        if let Some(picture) = &self.picture {
            shown += &super::notebook::block("image/svg+xml", picture);
        }
        shown + &super::notebook::block("text/plain", &format!("Html({} bytes)", self.text.len()))
    }
}

impl From<String> for Html {
    fn from(text: String) -> Self {
        Html {
            text,
            picture: None,
        }
    }
}

impl From<Html> for String {
    fn from(html: Html) -> Self {
        html.text
    }
}

impl Deref for Html {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl AsRef<str> for Html {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Html {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
