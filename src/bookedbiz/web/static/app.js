/* BookedBiz page behaviour: filters submit on change, confirmations, charts (plotly, served by
   the app). No inline scripts: data arrives in <script type="application/json"> blocks. */
(function () {
  "use strict";

  // Filter bars apply as soon as a select, radio or checkbox changes; text search on Enter.
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    form.addEventListener("change", function (event) {
      var t = event.target;
      if (t.tagName === "SELECT" || t.type === "radio" || t.type === "checkbox") {
        cleanAndSubmit(form);
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      cleanAndSubmit(form);
    });
  });

  // Keep URLs short and readable: drop empty parameters and the default measure.
  function cleanAndSubmit(form) {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (value === "" || (key === "measure" && value === "gross")) { return; }
      params.append(key, value);
    });
    var action = form.getAttribute("action") || window.location.pathname;
    var query = params.toString();
    window.location.assign(action + (query ? "?" + query : ""));
  }

  // Forms that change data ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });

  var palette = ["#2d5b8f", "#9fb3c8", "#d9822b", "#3f9b5c", "#8e5ab5"];
  var money = function (v) { return "$" + Math.round(v).toLocaleString("en-US"); };

  function draw(el, spec) {
    var traces = [];
    var layout = {
      title: { text: spec.title, font: { size: 15 } },
      margin: { l: 70, r: 20, t: 45, b: 45 },
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
      font: { family: "-apple-system, Segoe UI, Roboto, Arial, sans-serif", color: "#1d2733" },
      legend: { orientation: "h", y: -0.15 },
      yaxis: { tickformat: "$,.0f", gridcolor: "#e6ebf1" },
      xaxis: { gridcolor: "#e6ebf1" },
      barmode: "group",
      hovermode: "closest"
    };
    if (spec.kind === "bars" || spec.kind === "line") {
      spec.series.forEach(function (s, i) {
        traces.push({
          type: spec.kind === "line" ? "scatter" : "bar",
          mode: spec.kind === "line" ? "lines+markers" : undefined,
          name: s.name, x: spec.x, y: s.y,
          marker: { color: i === 0 && spec.status ?
            spec.status.map(function (st) { return st === "closed" ? "#2f7d4a" : "#d9a400"; }) :
            palette[i % palette.length] },
          hovertemplate: "%{x}: %{y:$,.2f}<extra>" + s.name + "</extra>"
        });
      });
    } else if (spec.kind === "hbars") {
      layout.margin.l = 190;
      layout.xaxis = { tickformat: "$,.0f", gridcolor: "#e6ebf1" };
      layout.yaxis = { automargin: true };
      layout.height = Math.max(320, 28 * spec.y.length + 110);
      spec.series.forEach(function (s, i) {
        traces.push({
          type: "bar", orientation: "h", name: s.name, y: spec.y, x: s.x,
          marker: { color: palette[i % palette.length] },
          hovertemplate: "%{y}: %{x:$,.2f}<extra>" + s.name + "</extra>"
        });
      });
    }
    if (!layout.height) { layout.height = 340; }
    window.Plotly.newPlot(el, traces, layout, { displayModeBar: false, responsive: true,
      scrollZoom: false });
    el.setAttribute("data-rendered", "1");
  }

  function drawCharts() {
    if (!window.Plotly) { return; }
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-chart"));
      if (!source) { return; }
      try { draw(el, JSON.parse(source.textContent)); } catch (err) {
        el.textContent = "The chart could not be drawn.";
      }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawCharts);
  } else { drawCharts(); }
  window.BookedBiz = { money: money };
})();
