// churnradar pages: charts from JSON embedded in the page, and small behaviours the CSP keeps out of markup.
(function () {
  "use strict";

  function lineChart(element, series, labels) {
    const lang = document.documentElement.lang.startsWith("zh") ? "ZH" : "EN";
    const chart = echarts.init(element, null, { renderer: "svg", locale: lang });
    const data = series.points.map(function (p) { return [p[0], p[1]]; });
    const option = {
      animation: false,
      grid: { left: 48, right: 16, top: 28, bottom: 28 },
      title: { text: series.indicator, textStyle: { fontSize: 13 } },
      tooltip: { trigger: "axis" },
      xAxis: { type: "time" },
      yAxis: { type: "value", scale: true },
      series: [{
        name: series.indicator, type: "line", showSymbol: data.length < 40, data: data, connectNulls: false,
        markLine: series.baseline === null ? undefined : {
          symbol: "none", silent: true, lineStyle: { type: "dashed" },
          label: { formatter: labels.baseline, position: "insideEndTop" },
          data: [{ yAxis: series.baseline }]
        }
      }]
    };
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function renderCharts(root) {
    if (typeof echarts === "undefined") { return; }
    root.querySelectorAll("script[data-chart-series]").forEach(function (node) {
      const target = document.getElementById(node.dataset.chartSeries);
      if (!target || target.dataset.rendered) { return; }
      const payload = JSON.parse(node.textContent);
      target.dataset.rendered = "1";
      payload.series.forEach(function (series) {
        const box = document.createElement("div");
        box.className = "chart";
        box.setAttribute("data-indicator", series.indicator);
        target.appendChild(box);
        lineChart(box, series, payload.labels);
      });
    });
  }

  function autoSubmit(root) {
    root.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      if (select.dataset.bound) { return; }
      select.dataset.bound = "1";
      select.addEventListener("change", function () { select.form.requestSubmit(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    renderCharts(document);
    autoSubmit(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    renderCharts(event.target);
    autoSubmit(event.target);
  });
})();
