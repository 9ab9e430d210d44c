// The effectiveness page's charts: series arrive as JSON in the page (#effectiveness-data), never as code.
(function () {
  "use strict";

  function percent(value) {
    return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%";
  }

  function option(chart) {
    const axis = chart.percent ? { type: "value", axisLabel: { formatter: percent } } : { type: "value" };
    return {
      animation: false,
      title: { text: chart.title, textStyle: { fontSize: 13 } },
      grid: { left: 56, right: 16, top: 40, bottom: 28 },
      legend: chart.series.length > 1 ? { top: 18, right: 0 } : undefined,
      tooltip: { trigger: "axis", valueFormatter: chart.percent ? percent : undefined },
      xAxis: { type: "category", data: chart.x },
      yAxis: axis,
      series: chart.series.map(function (s, index) {
        return {
          name: s.name, type: chart.bar ? "bar" : "line", stack: s.stack, data: s.data, connectNulls: false,
          markLine: index === 0 && chart.mark ? {
            symbol: "none", silent: true, lineStyle: { type: "dashed" }, data: [{ xAxis: chart.mark }]
          } : undefined
        };
      })
    };
  }

  document.addEventListener("DOMContentLoaded", function () {
    const source = document.getElementById("effectiveness-data");
    if (!source || typeof echarts === "undefined") { return; }
    const charts = JSON.parse(source.textContent);
    const lang = document.documentElement.lang.startsWith("zh") ? "ZH" : "EN";
    document.querySelectorAll("[data-effectiveness-chart]").forEach(function (element) {
      const chart = charts[element.dataset.effectivenessChart];
      if (!chart || !chart.x.length) { element.hidden = true; return; }
      const instance = echarts.init(element, null, { renderer: "svg", locale: lang });
      instance.setOption(option(chart));
      element.dataset.rendered = "1";
      window.addEventListener("resize", function () { instance.resize(); });
    });
  });
})();
