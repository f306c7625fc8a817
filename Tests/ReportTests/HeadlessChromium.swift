import Foundation
import XCTest

/// Opens a page in Debian's headless chromium and reports what a reader would see: load errors,
/// every resource the page fetched, every figure (its SVG drawn, its embedded images decoded,
/// its words set as text inside it), and a screenshot.
///
/// The page is loaded with a checker script of the test's own inserted at the top of `<head>`
/// and the page's Content-Security-Policy removed (so that the checker runs, and so that any
/// reference to a file or the network is really attempted and shows up as a fetched resource or
/// a load error instead of being silently blocked).
enum HeadlessChromium {
    struct Check: Decodable {
        struct Figure: Decodable {
            let kind: String?
            let key: String?
            let rank: String?
            let step: String?
            let layer: String?
            /// The figure has an inline SVG laid out with the aspect ratio its attributes announce,
            /// and no `<image>` in it failed to load.
            let loaded: Bool
            /// Every `<image>` is a PNG `data:` URI.
            let embedded: Bool
            /// The words of every SVG `<text>`, in order.
            let texts: [String]
            /// Texts chromium set with no width (no font, or not displayed).
            let unrendered: [String]
            /// Texts whose box reaches outside the SVG's viewBox by more than a pixel.
            let overflowing: [String]
        }
        let errors: [String]
        /// URLs the page fetched (data: URIs are not fetches and are not listed).
        let resources: [String]
        /// src/href attributes that are neither data: URIs nor in-page anchors.
        let external: [String]
        let figures: [Figure]
        let text: String
    }

    static func executable() throws -> String {
        let candidates = [ProcessInfo.processInfo.environment["DNC_CHROMIUM"], "/usr/bin/chromium", "/usr/bin/chromium-browser",
                          "/usr/bin/google-chrome"].compactMap { $0 }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("headless browser test skipped: no chromium found (install Debian's 'chromium' package; scripts/setup.sh does)")
        }
        return found
    }

    static let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                        "--force-device-scale-factor=1",
                        "--disable-background-networking", "--disable-sync", "--hide-scrollbars", "--mute-audio"]

    static let checker = #"""
    <script>
    (function () {
      var errors = [], failed = [];
      window.addEventListener('error', function (e) {
        var t = e.target;
        if (t && t !== window) {
          failed.push(t);
          errors.push('load failed: ' + t.tagName + ' ' + (t.currentSrc || t.getAttribute('src') || t.getAttribute('href') || ''));
        } else errors.push('script error: ' + e.message);
      }, true);
      window.addEventListener('securitypolicyviolation', function (e) { errors.push('blocked: ' + e.blockedURI); });
      var consoleError = console.error;
      console.error = function () { errors.push('console: ' + Array.prototype.join.call(arguments, ' ')); consoleError.apply(console, arguments); };
      window.addEventListener('load', function () {
        var figures = Array.prototype.map.call(document.querySelectorAll('figure[data-figure]'), function (f) {
          var svg = f.querySelector('svg');
          var images = svg ? Array.prototype.slice.call(svg.querySelectorAll('image')) : [];
          var texts = svg ? Array.prototype.slice.call(svg.querySelectorAll('text')) : [];
          var box = svg ? svg.getBoundingClientRect() : null;
          var width = svg ? +svg.getAttribute('width') : 0, height = svg ? +svg.getAttribute('height') : 0;
          return { kind: f.dataset.figure, key: f.dataset.key, rank: f.dataset.rank, step: f.dataset.step, layer: f.dataset.layer,
                   // Laid out (perhaps scaled down to the window) with its own aspect ratio.
                   loaded: !!svg && width > 0 && height > 0 && box.width > 0 && Math.abs(box.height / box.width - height / width) < 0.01
                           && images.every(function (i) { return failed.indexOf(i) < 0; }),
                   embedded: images.every(function (i) { return (i.getAttribute('href') || '').indexOf('data:image/png;base64,') === 0; }),
                   texts: texts.map(function (t) { return t.textContent; }),
                   unrendered: texts.filter(function (t) { return !(t.getComputedTextLength() > 0); })
                     .map(function (t) { return t.textContent; }),
                   overflowing: texts.filter(function (t) {
                     var b = t.getBBox();
                     return b.x < -1 || b.y < -1 || b.x + b.width > width + 1 || b.y + b.height > height + 1;
                   }).map(function (t) { return t.textContent; }) };
        });
        var resources = performance.getEntriesByType('resource').map(function (r) { return r.name; })
          .filter(function (n) { return n.indexOf('data:') !== 0; });
        var external = Array.prototype.map.call(document.querySelectorAll('[src],[href]'), function (e) {
          return e.getAttribute('src') || e.getAttribute('href');
        }).filter(function (u) { return u.indexOf('data:') !== 0 && u.charAt(0) !== '#'; });
        var out = document.createElement('pre');
        out.id = 'dnc-report-check';
        out.textContent = 'CHECK' + '-BEGIN' + JSON.stringify({ errors: errors, resources: resources, external: external,
                                                           figures: figures, text: document.body.innerText }) + 'CHECK' + '-END';
        document.body.appendChild(out);
      });
    })();
    </script>
    """#

    /// Loads `html` with the checker and returns what it found.
    static func check(_ html: String) throws -> Check {
        let chromium = try executable()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var page = html.replacingOccurrences(
            of: #"<meta http-equiv="Content-Security-Policy"[^>]*>"#, with: "", options: .regularExpression)
        guard let head = page.range(of: "<head>") else { throw TestFailure("the page has no <head>") }
        page.insert(contentsOf: "\n" + checker + "\n", at: head.upperBound)
        let url = directory.appendingPathComponent("page.html")
        try page.write(to: url, atomically: true, encoding: .utf8)
        let result = try shell(chromium, flags + ["--user-data-dir=\(directory.path)/profile", "--virtual-time-budget=10000",
                                                  "--dump-dom", url.absoluteString], timeout: 180)
        guard let begin = result.output.range(of: "CHECK-BEGIN"), let end = result.output.range(of: "CHECK-END"),
              begin.upperBound <= end.lowerBound else {
            throw TestFailure("chromium did not run the page's checker (status \(result.status)): \(result.error.suffix(2000))")
        }
        let json = String(result.output[begin.upperBound..<end.lowerBound])
        // --dump-dom prints HTML: the JSON in the <pre> has &, <, > escaped.
        let unescaped = json.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&")
        return try JSONDecoder().decode(Check.self, from: Data(unescaped.utf8))
    }

    /// A screenshot of `file` (the page as written, with its CSP) at `width` × `height`.
    static func screenshot(_ file: URL, width: Int = 1200, height: Int = 1600) throws -> URL {
        let chromium = try executable()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-shot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let shot = directory.appendingPathComponent("screenshot.png")
        let result = try shell(chromium, flags + ["--user-data-dir=\(directory.path)/profile", "--screenshot=\(shot.path)",
                                                  "--window-size=\(width),\(height)", file.absoluteString], timeout: 180)
        guard FileManager.default.fileExists(atPath: shot.path) else {
            throw TestFailure("chromium wrote no screenshot (status \(result.status)): \(result.error.suffix(2000))")
        }
        return shot
    }
}
