//! module_utils/urls.py's `fetch_file` (2.19.14) on the host, for the modules that take a URL
//! where a file is wanted (`unarchive`'s `src`, `apt`'s `deb`, `dnf`'s names): the file
//! downloaded with curl (or wget) into a temporary directory, named as `fetch_file` names it.

use super::uri::curl_str;
use clearfleet_base::shell::quote;

/// `mask_url`: a URL's user and password shown as `****`.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (netloc, tail) = rest.split_at(end);
    let Some((cred, host)) = netloc.rsplit_once('@') else {
        return url.to_owned();
    };
    let masked = if cred.contains(':') {
        "****:****"
    } else {
        "****"
    };
    format!("{scheme}://{masked}@{host}{tail}")
}

/// `_split_multiext(basename(urlparse(url).path), count=2)`: the temporary file's prefix and
/// extension.
pub fn split_multiext(url: &str) -> (String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest
        .find('/')
        .map_or("", |i| &rest[i..])
        .split(['?', '#'])
        .next()
        .unwrap_or_default();
    let mut name = path.rsplit('/').next().unwrap_or_default().to_owned();
    let suffixes: Vec<String> = if name.ends_with('.') {
        Vec::new()
    } else {
        name.trim_start_matches('.')
            .split('.')
            .skip(1)
            .map(|s| format!(".{s}"))
            .collect()
    };
    let mut ext = String::new();
    for sfx in suffixes.iter().rev().take(2) {
        if !(3..=4).contains(&sfx.chars().count()) {
            break;
        }
        ext = format!("{sfx}{ext}");
        // Python's `rstrip(sfx)`: the suffix's characters, as a set.
        name = name.trim_end_matches(|c| sfx.contains(c)).to_owned();
    }
    (name, ext)
}

/// The curl config, wgetrc and URL of a download, split by `sep`: the stdin of [`script`]
/// (urls.py's `fetch_url` defaults: redirects followed, a 10 s timeout, its user agent).
pub fn configs(url: &str, validate_certs: bool, sep: &str) -> String {
    let mut c = format!(
        "url = {}\nlocation\nmax-time = 10\nuser-agent = \"ansible-httpget\"\n",
        curl_str(url)
    );
    let mut w = String::from("timeout = 10\nuser_agent = ansible-httpget\n");
    if !validate_certs {
        c.push_str("insecure\n");
        w.push_str("check_certificate = off\n");
    }
    format!("{c}{sep}\n{w}{sep}\n{url}\n")
}

/// The shell that downloads the URL `configs` gave on stdin into `$w` (a directory the
/// caller made): `$s` the file (`mktemp` with the URL's `prefix` and `ext`), `$w/e` the error,
/// `$w/h` the headers; on a failure before the download `fail` runs, on a failed download
/// `download_fail` (with `$r` its code).
pub fn script(prefix: &str, ext: &str, sep: &str, fail: &str, download_fail: &str) -> String {
    format!(
        "s=$(mktemp \"$w/\"{p}XXXXXXXX) && mv \"$s\" \"$s\"{e} && s=$s{e} || {fail}\n\
         c=$w/curl\n\
         awk -v s={sep} -v a=\"$c\" -v b=\"$c.w\" -v u=\"$c.u\" '$0==s{{n++;next}} {{print > (n==0?a:(n==1?b:u))}}' || {fail}\n\
         if command -v curl >/dev/null 2>&1; then code=$(curl -sS -K \"$c\" -D \"$w/h\" -o \"$s\" -w '%{{http_code}}' </dev/null 2>\"$w/e\"); r=$?\n\
         if [ $r = 0 ] && [ \"${{code:-0}}\" -ge 400 ] 2>/dev/null; then l=$(grep '^HTTP/' \"$w/h\" | tail -n 1 | tr -d '\\r'); printf 'HTTP Error %s: %s' \"$code\" \"${{l#* * }}\" >\"$w/e\"; r=22; fi\n\
         elif command -v wget >/dev/null 2>&1; then wget -q --config=\"$c.w\" -i \"$c.u\" -O \"$s\" </dev/null 2>\"$w/e\"; r=$?\n\
         else echo 'clearfleet needs curl or wget on the host' >\"$w/e\"; r=1; fi\n\
         rm -f \"$c\" \"$c.w\" \"$c.u\"; [ $r = 0 ] || {{ {download_fail}; }}\n",
        p = quote(prefix),
        e = quote(ext),
        sep = quote(sep),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_masked_and_split_as_urls_py() {
        assert_eq!(
            mask_url("http://user:pw@host/x.tgz"),
            "http://****:****@host/x.tgz"
        );
        assert_eq!(mask_url("https://u@h/p"), "https://****@h/p");
        assert_eq!(mask_url("https://h/p@x"), "https://h/p@x");
        assert_eq!(
            split_multiext("https://h/dir/foo.tar.gz?x=1"),
            ("foo".into(), ".tar.gz".into())
        );
        assert_eq!(
            split_multiext("https://h/foo.zip"),
            ("foo".into(), ".zip".into())
        );
        assert_eq!(
            split_multiext("https://h/v1.2.3.longext"),
            ("v1.2.3.longext".into(), String::new())
        );
    }
}
