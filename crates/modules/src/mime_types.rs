//! `mimetypes.guess_type(name, strict=False)[0]` (Python's mimetypes module, its built-in
//! tables), which module_utils/urls.py's `prepare_multipart` uses for a multipart file part
//! without `mime_type`. Python also reads the host's `/etc/mime.types`; clearfleet knows only
//! the built-in tables.

/// `suffix_map`: a suffix standing for two.
const SUFFIXES: &[(&str, &str)] = &[
    (".svgz", ".svg.gz"),
    (".tgz", ".tar.gz"),
    (".taz", ".tar.gz"),
    (".tz", ".tar.gz"),
    (".tbz2", ".tar.bz2"),
    (".txz", ".tar.xz"),
];

/// `encodings_map`'s suffixes (matched case-sensitively, as Python does).
const ENCODINGS: &[&str] = &[".gz", ".Z", ".bz2", ".xz", ".br"];

/// `types_map` with `common_types` under it (strict types win): `extension type` lines.
const TYPES: &str = "\
3g2 audio/3gpp2\n\
3gp audio/3gpp\n\
3gpp audio/3gpp\n\
3gpp2 audio/3gpp2\n\
a application/octet-stream\n\
aac audio/aac\n\
adts audio/aac\n\
ai application/postscript\n\
aif audio/x-aiff\n\
aifc audio/x-aiff\n\
aiff audio/x-aiff\n\
ass audio/aac\n\
au audio/basic\n\
avi video/x-msvideo\n\
avif image/avif\n\
bat text/plain\n\
bcpio application/x-bcpio\n\
bin application/octet-stream\n\
bmp image/bmp\n\
c text/plain\n\
cdf application/x-netcdf\n\
cpio application/x-cpio\n\
csh application/x-csh\n\
css text/css\n\
csv text/csv\n\
dll application/octet-stream\n\
doc application/msword\n\
dot application/msword\n\
dvi application/x-dvi\n\
eml message/rfc822\n\
eps application/postscript\n\
etx text/x-setext\n\
exe application/octet-stream\n\
gif image/gif\n\
gtar application/x-gtar\n\
h text/plain\n\
h5 application/x-hdf5\n\
hdf application/x-hdf\n\
heic image/heic\n\
heif image/heif\n\
htm text/html\n\
html text/html\n\
ico image/vnd.microsoft.icon\n\
ief image/ief\n\
jpe image/jpeg\n\
jpeg image/jpeg\n\
jpg image/jpeg\n\
js application/javascript\n\
json application/json\n\
ksh text/plain\n\
latex application/x-latex\n\
loas audio/aac\n\
m1v video/mpeg\n\
m3u application/vnd.apple.mpegurl\n\
m3u8 application/vnd.apple.mpegurl\n\
man application/x-troff-man\n\
me application/x-troff-me\n\
mht message/rfc822\n\
mhtml message/rfc822\n\
mid audio/midi\n\
midi audio/midi\n\
mif application/x-mif\n\
mjs application/javascript\n\
mov video/quicktime\n\
movie video/x-sgi-movie\n\
mp2 audio/mpeg\n\
mp3 audio/mpeg\n\
mp4 video/mp4\n\
mpa video/mpeg\n\
mpe video/mpeg\n\
mpeg video/mpeg\n\
mpg video/mpeg\n\
ms application/x-troff-ms\n\
n3 text/n3\n\
nc application/x-netcdf\n\
nq application/n-quads\n\
nt application/n-triples\n\
nws message/rfc822\n\
o application/octet-stream\n\
obj application/octet-stream\n\
oda application/oda\n\
opus audio/opus\n\
p12 application/x-pkcs12\n\
p7c application/pkcs7-mime\n\
pbm image/x-portable-bitmap\n\
pct image/pict\n\
pdf application/pdf\n\
pfx application/x-pkcs12\n\
pgm image/x-portable-graymap\n\
pic image/pict\n\
pict image/pict\n\
pl text/plain\n\
png image/png\n\
pnm image/x-portable-anymap\n\
pot application/vnd.ms-powerpoint\n\
ppa application/vnd.ms-powerpoint\n\
ppm image/x-portable-pixmap\n\
pps application/vnd.ms-powerpoint\n\
ppt application/vnd.ms-powerpoint\n\
ps application/postscript\n\
pwz application/vnd.ms-powerpoint\n\
py text/x-python\n\
pyc application/x-python-code\n\
pyo application/x-python-code\n\
qt video/quicktime\n\
ra audio/x-pn-realaudio\n\
ram application/x-pn-realaudio\n\
ras image/x-cmu-raster\n\
rdf application/xml\n\
rgb image/x-rgb\n\
roff application/x-troff\n\
rtf application/rtf\n\
rtx text/richtext\n\
sgm text/x-sgml\n\
sgml text/x-sgml\n\
sh application/x-sh\n\
shar application/x-shar\n\
snd audio/basic\n\
so application/octet-stream\n\
src application/x-wais-source\n\
srt text/plain\n\
sv4cpio application/x-sv4cpio\n\
sv4crc application/x-sv4crc\n\
svg image/svg+xml\n\
swf application/x-shockwave-flash\n\
t application/x-troff\n\
tar application/x-tar\n\
tcl application/x-tcl\n\
tex application/x-tex\n\
texi application/x-texinfo\n\
texinfo application/x-texinfo\n\
tif image/tiff\n\
tiff image/tiff\n\
tr application/x-troff\n\
trig application/trig\n\
tsv text/tab-separated-values\n\
txt text/plain\n\
ustar application/x-ustar\n\
vcf text/x-vcard\n\
vtt text/vtt\n\
wasm application/wasm\n\
wav audio/x-wav\n\
webm video/webm\n\
webmanifest application/manifest+json\n\
webp image/webp\n\
wiz application/msword\n\
wsdl application/xml\n\
xbm image/x-xbitmap\n\
xlb application/vnd.ms-excel\n\
xls application/vnd.ms-excel\n\
xml text/xml\n\
xpdl application/xml\n\
xpm image/x-xpixmap\n\
xsl application/xml\n\
xul text/xul\n\
xwd image/x-xwindowdump\n\
zip application/zip\n\
";

/// `posixpath.splitext`: the last `.suffix` of the last path segment, leading dots not
/// counting.
fn splitext(path: &str) -> (&str, &str) {
    let start = path.rfind('/').map_or(0, |i| i + 1);
    let name = &path[start..];
    let lead = name.len() - name.trim_start_matches('.').len();
    match name[lead..].rfind('.') {
        Some(i) => path.split_at(start + lead + i),
        None => (path, ""),
    }
}

/// The type Python guesses for `name`, if any.
pub fn guess_type(name: &str) -> Option<&'static str> {
    let mut path = name.to_owned();
    let (mut base, mut ext) = {
        let (b, e) = splitext(&path);
        (b.to_owned(), e.to_owned())
    };
    while let Some((_, to)) = SUFFIXES.iter().find(|(s, _)| *s == ext.to_lowercase()) {
        path = format!("{base}{to}");
        let (b, e) = splitext(&path);
        (base, ext) = (b.to_owned(), e.to_owned());
    }
    if ENCODINGS.contains(&ext.as_str()) {
        let (_, e) = splitext(&base);
        ext = e.to_owned();
    }
    let ext = ext.to_lowercase();
    let ext = ext.strip_prefix('.')?;
    TYPES.lines().find_map(|l| {
        let (e, t) = l.split_once(' ')?;
        (e == ext).then_some(t)
    })
}

#[cfg(test)]
mod tests {
    use super::guess_type;

    #[test]
    fn guesses_as_python() {
        assert_eq!(guess_type("/tmp/a.txt"), Some("text/plain"));
        assert_eq!(guess_type("A.JSON"), Some("application/json"));
        assert_eq!(guess_type("x.tgz"), Some("application/x-tar"));
        assert_eq!(guess_type("x.tar.gz"), Some("application/x-tar"));
        assert_eq!(guess_type("x.rtf"), Some("application/rtf"));
        assert_eq!(guess_type("x.jpg"), Some("image/jpeg"));
        assert_eq!(guess_type(".txt"), None);
        assert_eq!(guess_type("a.d/noext"), None);
        assert_eq!(guess_type(""), None);
    }
}
