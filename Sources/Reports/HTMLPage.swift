/// The self-contained HTML page of a report: inline CSS, figures as inline SVG (their raster
/// parts as `data:` URIs), a Content Security Policy that forbids every fetch (so a stray
/// reference cannot reach the network), no scripts, no web fonts.
public enum HTMLPage {
    /// Text escaped for HTML element content and attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    public static let contentSecurityPolicy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

    /// The whole page around `body`. `policy` replaces the Content Security Policy (a served
    /// page that runs its own inline script and listens to its server); `script` goes at the end
    /// of the body.
    public static func document(title: String, body: String, refreshSeconds: Int? = nil,
                                policy: String = contentSecurityPolicy, script: String? = nil) -> String {
        var head = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="\(policy)">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="generator" content="dnc-dist report">

        """
        if let refreshSeconds { head += "<meta http-equiv=\"refresh\" content=\"\(refreshSeconds)\">\n" }
        head += "<title>\(escape(title))</title>\n<style>\n\(css)</style>\n</head>\n<body>\n"
        let scriptElement = script.map { "\n<script>\n\($0)\n</script>" } ?? ""
        return head + body + scriptElement + "\n</body>\n</html>\n"
    }

    static let css = """
    :root { color-scheme: light; }
    body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #222;
           margin: 0 auto; padding: 1.5em 2em 4em; max-width: 1280px; background: #fff; }
    h1 { font-size: 1.6em; margin: 0 0 .2em; }
    h2 { font-size: 1.3em; margin: 2em 0 .4em; padding-bottom: .2em; border-bottom: 2px solid #ddd; }
    h3 { font-size: 1.1em; margin: 1.6em 0 .4em; }
    h4 { font-size: 1em; margin: 1.2em 0 .3em; color: #555; }
    code { font: .92em ui-monospace, "DejaVu Sans Mono", monospace; background: #f3f3f3; padding: 0 .25em; border-radius: 3px; }
    .meta { color: #555; margin: .2em 0; }
    .status { display: inline-block; padding: .1em .6em; border-radius: 1em; font-size: .9em; font-weight: 600; }
    .status.done { background: #e3f4e8; color: #1d6b38; }
    .status.partial { background: #fff1d6; color: #8a5a00; }
    .status.live { background: #e3ecfb; color: #1f4f9a; }
    .problems { border: 1px solid #e7b400; background: #fffaeb; padding: .6em 1em; border-radius: 6px; margin: 1em 0; }
    .problems h2 { border: 0; margin: 0 0 .3em; font-size: 1.1em; }
    .problems ul { margin: 0; padding-left: 1.3em; }
    .note { color: #555; }
    nav ul { margin: .3em 0; padding-left: 1.3em; columns: 2; }
    .grid { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
    figure { margin: 0; border: 1px solid #e3e3e3; border-radius: 6px; padding: 6px; background: #fff; max-width: 100%; }
    figure svg { display: block; max-width: 100%; height: auto; }
    figcaption { font-size: .85em; color: #555; margin-top: 4px; }
    figure.missing { padding: 1em; background: #fff5f5; border-color: #f0b4b4; color: #8a1f1f; }
    table { border-collapse: collapse; font-size: .9em; }
    td, th { padding: .15em .8em .15em 0; text-align: left; vertical-align: top; }
    details { margin: 1em 0; }
    summary { cursor: pointer; font-weight: 600; }
    footer { margin-top: 3em; color: #777; font-size: .85em; }

    """
}
