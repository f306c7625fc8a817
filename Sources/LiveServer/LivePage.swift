import DNCReports

/// The page `dnc-dist serve` serves at `/`: the run's report (RunReport's body, figures inline)
/// under a bar with the connection state and the last step, and a small inline script that
/// listens to `/events` and applies each event to the page. Self-contained: the script is
/// inline, the figures embed their images, and the Content Security Policy allows no fetch
/// but the page's own event stream.
public enum LivePage {
    public static let policy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'"

    public static func html(snapshot: LiveSnapshot?, version: Int, runName: String) -> String {
        let lastStep = snapshot?.lastStep.map(String.init) ?? "none yet"
        let bar = "<p class=\"meta\" id=\"live-bar\"><span class=\"status partial\" id=\"live-state\">connecting</span> "
            + "last step <strong id=\"live-step\">\(lastStep)</strong> · <span id=\"live-updated\">page version \(version)</span> · "
            + "pushed by <code>dnc-dist serve</code> as the run writes its files</p>\n"
        let body = bar + "<main id=\"live-report\" data-version=\"\(version)\">\n"
            + (snapshot?.body ?? "<p class=\"note\">Reading the run directory…</p>") + "\n</main>"
        return HTMLPage.document(title: "dnc-dist serve: \(runName)", body: body, policy: policy, script: script)
    }

    /// Applies the events of `LiveEvent` to the page (see there for what each one means).
    static let script = #"""
    (function () {
      'use strict';
      var root = document.getElementById('live-report');
      var state = document.getElementById('live-state');
      var step = document.getElementById('live-step');
      var updated = document.getElementById('live-updated');
      function each(list, f) { Array.prototype.forEach.call(list, f); }
      function show(text, kind) { state.textContent = text; state.className = 'status ' + kind; }
      function element(html) {
        var holder = document.createElement('div');
        holder.innerHTML = html;
        return holder.firstElementChild;
      }
      var source = new EventSource('events?since=' + encodeURIComponent(root.getAttribute('data-version')));
      source.onopen = function () { show('live', 'live'); };
      source.onerror = function () { show('disconnected: retrying', 'partial'); };
      source.addEventListener('layout', function (e) {
        var d = JSON.parse(e.data), kept = {};
        each(root.querySelectorAll('figure[id]'), function (f) { kept[f.id] = f; });
        root.innerHTML = d.skeleton;
        each(root.querySelectorAll('figure[data-placeholder]'), function (p) {
          if (kept[p.id]) p.parentNode.replaceChild(kept[p.id], p);
        });
      });
      source.addEventListener('figure', function (e) {
        var d = JSON.parse(e.data), old = document.getElementById('fig-' + d.id), figure = element(d.html);
        if (old && figure) old.parentNode.replaceChild(figure, old);
      });
      source.addEventListener('metrics', function (e) {
        var d = JSON.parse(e.data), last = d.points.length ? d.points[d.points.length - 1] : null;
        if (last && last.step !== null && last.step !== undefined) step.textContent = String(last.step);
      });
      source.addEventListener('status', function (e) {
        var d = JSON.parse(e.data);
        root.setAttribute('data-version', String(d.version));
        step.textContent = d.lastStep === null ? 'none yet' : String(d.lastStep);
        updated.textContent = 'page version ' + d.version + ', updated ' + new Date().toLocaleTimeString();
        if (d.finished) show('run finished', 'done'); else show('live', 'live');
      });
    })();
    """#
}
