//! [`Svg`]: a finished picture, shown inline by evcxr.

use std::fmt;
use std::ops::Deref;

/// An SVG picture: a graph drawn by [`Graph::to_svg`](super::Graph::to_svg)
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
