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

  // Narrow screens: the main navigation folds into a menu (CSS); the toggle opens and closes it
  // here, Escape closes it. Without scripts the toggle's #mainnav link opens it instead.
  var navToggle = document.querySelector(".navtoggle");
  if (navToggle) {
    var topbar = navToggle.parentNode;
    var setMenu = function (open) {
      topbar.classList.toggle("menu-open", open);
      navToggle.setAttribute("aria-expanded", open ? "true" : "false");
    };
    navToggle.addEventListener("click", function (event) {
      event.preventDefault();
      setMenu(!topbar.classList.contains("menu-open"));
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && topbar.classList.contains("menu-open")) {
        setMenu(false);
        navToggle.focus();
      }
    });
  }

  // On a phone the filter bar folds behind its summary line; on a wide screen it is open.
  var narrowQuery = window.matchMedia("(max-width: 820px)");
  var fitFilterBars = function () {
    document.querySelectorAll("details.filterfold").forEach(function (fold) {
      fold.open = !narrowQuery.matches;
    });
  };
  fitFilterBars();
  narrowQuery.addEventListener("change", fitFilterBars);

  // Forms that change data ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });

  var palette = ["#2d5b8f", "#9fb3c8", "#d9822b", "#3f9b5c", "#8e5ab5"];
  var money = function (v) { return "$" + Math.round(v).toLocaleString("en-US"); };
  // Hover figures follow the page: whole dollars unless cents were asked for.
  var hoverMoney = document.body.getAttribute("data-cents") === "1" ? "$,.2f" : "$,.0f";
  var narrow = function () { return window.innerWidth < 600; };

  function draw(el, spec) {
    var traces = [];
    var small = narrow();
    var layout = {
      title: small ? { text: spec.title, font: { size: 13 }, yref: "container", y: 1,
        yanchor: "top", pad: { t: 8 } } : { text: spec.title, font: { size: 15 } },
      // on a phone the legend goes above the plot (under the title), clear of the slanted
      // month labels
      margin: small ? { l: 55, r: 10, t: 90, b: 40 } : { l: 70, r: 20, t: 45, b: 45 },
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
      font: { family: "-apple-system, Segoe UI, Roboto, Arial, sans-serif", color: "#1d2733" },
      legend: small ? { orientation: "h", x: 0, y: 1, yanchor: "bottom", font: { size: 11 } }
        : { orientation: "h", y: -0.15 },
      yaxis: { tickformat: "$,.0f", gridcolor: "#e6ebf1" },
      xaxis: { gridcolor: "#e6ebf1", automargin: true },
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
          hovertemplate: "%{x}: %{y:" + hoverMoney + "}<extra>" + s.name + "</extra>"
        });
      });
    } else if (spec.kind === "hbars") {
      layout.margin.l = small ? 110 : 190;
      layout.xaxis = { tickformat: "$,.0f", gridcolor: "#e6ebf1" };
      layout.yaxis = { automargin: true };
      layout.height = Math.max(320, 28 * spec.y.length + 110);
      spec.series.forEach(function (s, i) {
        traces.push({
          type: "bar", orientation: "h", name: s.name, y: spec.y, x: s.x,
          marker: { color: palette[i % palette.length] },
          hovertemplate: "%{y}: %{x:" + hoverMoney + "}<extra>" + s.name + "</extra>"
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
