// churnradar pages: charts from JSON embedded in the page, and small behaviours the CSP keeps out of markup.
(function () {
  "use strict";

  // A level's colour, from the stylesheet's --level-<name> variable (the one definition of the colours).
  function levelColour(level) {
    if (!level) { return undefined; }
    const value = getComputedStyle(document.documentElement).getPropertyValue("--level-" + level).trim();
    return value || undefined;
  }

  // Counts start at zero (whole numbers on the axis); other values fit the axis to the data.
  function valueAxis(counts) {
    return counts ? { type: "value", min: 0, minInterval: 1 } : { type: "value", scale: true };
  }

  function draw(element, option) {
    const lang = document.documentElement.lang.startsWith("zh") ? "ZH" : "EN";
    const chart = echarts.init(element, null, { renderer: "svg", locale: lang });
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function lineChart(element, series, labels, counts) {
    const data = series.points.map(function (p) { return [p[0], p[1]]; });
    const colour = levelColour(series.level);
    const option = {
      animation: false,
      grid: { left: 48, right: 16, top: 28, bottom: 28 },
      title: { text: series.indicator, textStyle: { fontSize: 13 } },
      tooltip: { trigger: "axis" },
      xAxis: { type: "time" },
      yAxis: valueAxis(counts),
      series: [{
        name: series.indicator, type: "line", showSymbol: data.length < 40, data: data, connectNulls: false,
        markLine: series.baseline === null ? undefined : {
          symbol: "none", silent: true, lineStyle: { type: "dashed" },
          label: { formatter: labels.baseline, position: "insideEndTop" },
          data: [{ yAxis: series.baseline }]
        }
      }]
    };
    if (colour) { option.color = [colour]; }  // else the theme's palette
    draw(element, option);
  }

  // Every series stacked in one chart (customers per level: the worst level on top), each in its colour.
  function stackedChart(element, payload) {
    const series = payload.series.slice().reverse();
    draw(element, {
      animation: false,
      color: series.map(function (s) { return levelColour(s.level); }),
      grid: { left: 48, right: 16, top: 36, bottom: 28 },
      title: { text: payload.title, textStyle: { fontSize: 13 } },
      legend: { top: 0, right: 0 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "time" },
      yAxis: valueAxis(true),
      series: series.map(function (s) {
        return {
          name: s.indicator, type: "line", stack: "total", areaStyle: {}, showSymbol: s.points.length < 40,
          data: s.points.map(function (p) { return [p[0], p[1]]; })
        };
      })
    });
  }

  function renderCharts(root) {
    if (typeof echarts === "undefined") { return; }
    root.querySelectorAll("script[data-chart-series]").forEach(function (node) {
      const target = document.getElementById(node.dataset.chartSeries);
      if (!target || target.dataset.rendered) { return; }
      const payload = JSON.parse(node.textContent);
      target.dataset.rendered = "1";
      if (payload.stacked) {
        const box = document.createElement("div");
        box.className = "chart stacked";
        target.appendChild(box);
        stackedChart(box, payload);
        return;
      }
      payload.series.forEach(function (series) {
        const box = document.createElement("div");
        box.className = "chart";
        box.setAttribute("data-indicator", series.indicator);
        target.appendChild(box);
        lineChart(box, series, payload.labels, payload.counts);
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

  // On a phone the risk list shows search and level; "More filters" opens the rest.
  function filterToggles(root) {
    root.querySelectorAll("[data-toggle-filters]").forEach(function (button) {
      if (button.dataset.bound) { return; }
      button.dataset.bound = "1";
      button.addEventListener("click", function () {
        var open = button.form.classList.toggle("expanded");
        button.setAttribute("aria-expanded", open ? "true" : "false");
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    renderCharts(document);
    autoSubmit(document);
    filterToggles(document);
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    renderCharts(event.target);
    autoSubmit(event.target);
  });
})();
