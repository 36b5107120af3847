/* mftrack dashboard: draws the data of services/dashboard.py with Chart.js.
 *
 * Live mode (`mftrack serve`): fetches /dashboard-data, then listens on /events (server-sent
 * events) and fetches again when the server says the database changed: no polling.
 * Report mode (`mftrack report --html`): the data is inside the page; read-only.
 * Amounts arrive as exact decimal strings; the table formats them with string arithmetic
 * (Indian grouping, paise rounded half up), only chart geometry uses floating point.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("mftrack-config").textContent);
  var LIVE = config.mode === "live";
  var charts = [];
  var renders = 0;
  var COLORS = ["#1f5fbf", "#e07b00", "#2e8b57", "#8e44ad", "#c0392b", "#16a085",
                "#7f8c8d", "#d35400", "#2c3e50", "#b7950b"];

  // --- Indian number formatting ---------------------------------------------------------

  function groupIndian(digits) {
    if (digits.length <= 3) return digits;
    var head = digits.slice(0, -3), tail = digits.slice(-3), groups = [];
    while (head.length > 2) { groups.unshift(head.slice(-2)); head = head.slice(0, -2); }
    if (head) groups.unshift(head);
    return groups.join(",") + "," + tail;
  }

  // "1179886.149" -> "₹11,79,886.15": decimal-string arithmetic, half up, like render/formatting.
  function rupees(text, places) {
    if (text === null || text === undefined) return "—";
    if (places === undefined) places = 2;
    var raw = String(text).trim(), negative = raw.charAt(0) === "-";
    raw = raw.replace(/^[-+]/, "");
    var parts = raw.split("."), whole = parts[0] || "0", frac = parts[1] || "";
    var n = BigInt(whole + frac.slice(0, places).padEnd(places, "0"));
    if (frac.length > places && Number(frac.charAt(places)) >= 5) n += 1n;
    var s = n.toString().padStart(places + 1, "0");
    var out = groupIndian(s.slice(0, s.length - places));
    if (places) out += "." + s.slice(s.length - places);
    return (negative && n !== 0n ? "-" : "") + "₹" + out;
  }

  // Axis and bar labels: ₹43.93 L, ₹1.50 Cr, plain rupees below a lakh.
  function short(value) {
    var v = Math.abs(value), sign = value < 0 ? "-" : "";
    if (v >= 1e7) return sign + "₹" + (v / 1e7).toFixed(2) + " Cr";
    if (v >= 1e5) return sign + "₹" + (v / 1e5).toFixed(2) + " L";
    return sign + "₹" + groupIndian(String(Math.round(v)));
  }

  function percent(rate) {
    return rate === null || rate === undefined ? "n/a" : (rate * 100).toFixed(2) + "%";
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // --- charts ---------------------------------------------------------------------------

  function chart(canvas, spec) {
    spec.options = Object.assign({
      animation: false, responsive: true, maintainAspectRatio: false,
    }, spec.options || {});
    var made = new Chart(canvas, spec);
    charts.push(made);
    if (!window.mftrackFirstChartAt) window.mftrackFirstChartAt = performance.now();
    return made;
  }

  function moneyAxis() {
    return { ticks: { callback: function (v) { return short(v); } } };
  }

  function moneyTooltip() {
    return { callbacks: { label: function (ctx) {
      var v = ctx.parsed.y !== undefined && ctx.chart.options.indexAxis !== "y" ? ctx.parsed.y : ctx.parsed.x;
      return (ctx.dataset.label ? ctx.dataset.label + ": " : "") + short(v);
    } } };
  }

  function valueChart(data) {
    var points = data.value_history;
    chart(document.getElementById("chart-value"), {
      type: "line",
      data: {
        labels: points.map(function (p) { return p.date; }),
        datasets: [
          { label: "Value", data: points.map(function (p) { return Number(p.value); }),
            borderColor: COLORS[0], backgroundColor: "rgba(31,95,191,0.12)", fill: "+1",
            pointRadius: 0, borderWidth: 2 },
          { label: "Invested", data: points.map(function (p) { return Number(p.invested); }),
            borderColor: COLORS[6], borderDash: [6, 4], pointRadius: 0, borderWidth: 2,
            fill: false },
        ],
      },
      options: { interaction: { mode: "index", intersect: false },
                 scales: { y: moneyAxis(), x: { ticks: { maxTicksLimit: 8 } } },
                 plugins: { tooltip: moneyTooltip() } },
    });
  }

  function trim(label, size) {
    return label.length > size ? label.slice(0, size - 1) + "…" : label;
  }

  // Scheme names without the plan/option boilerplate ("Direct Plan", "Growth Option").
  function shortName(name) {
    var text = name.replace(/\s*-?\s*\b(Direct Plan|Direct|Growth Option|Growth Plan|Growth|Option)\b/gi, "")
      .replace(/\s*-\s*$/, "").replace(/\s{2,}/g, " ").trim();
    return text || name;
  }

  // Category-axis labels cut to what a third of the chart's width holds, so a phone-sized
  // window shows "Parag Parikh Flexi…" rather than a label clipped at the left edge.
  function fittedLabel(labels) {
    return function (value, index) {
      var room = Math.max(10, Math.floor(this.chart.width / 3 / 6.5));
      return trim(labels[index], room);
    };
  }

  // AMFI's "Equity Scheme - Flexi Cap Fund" reads as "Flexi Cap Fund (Equity)", as in the CLI.
  function categoryName(label) {
    var m = /^(\w+) Scheme - (.+)$/.exec(label);
    return m ? m[2] + " (" + m[1] + ")" : label;
  }

  function allocationChart(id, shares, naming) {
    var names = shares.map(function (s) { return naming(s.label); });
    chart(document.getElementById(id), {
      type: "bar",
      data: {
        labels: names,
        datasets: [{ data: shares.map(function (s) { return Number(s.value); }),
                     backgroundColor: shares.map(function (_, i) { return COLORS[i % COLORS.length]; }) }],
      },
      options: {
        indexAxis: "y",
        scales: { x: moneyAxis(), y: { ticks: { callback: fittedLabel(names) } } },
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: function (ctx) {
          var s = shares[ctx.dataIndex];
          return s.label + ": " + short(Number(s.value)) + " (" + (s.share * 100).toFixed(1) + "%)";
        } } } },
      },
    });
  }

  function xirrChart(data) {
    var rows = data.summary.schemes.filter(function (s) { return s.xirr !== null; });
    var labels = rows.map(function (s) { return shortName(s.scheme_name); });
    var values = rows.map(function (s) { return s.xirr * 100; });
    var total = data.summary.total;
    if (total.xirr !== null) { labels.push("Whole portfolio"); values.push(total.xirr * 100); }
    chart(document.getElementById("chart-xirr"), {
      type: "bar",
      data: { labels: labels, datasets: [{ data: values, backgroundColor: values.map(function (v, i) {
        return i === rows.length ? COLORS[8] : (v >= 0 ? COLORS[2] : COLORS[4]);
      }) }] },
      options: { indexAxis: "y",
                 scales: { x: { ticks: { callback: function (v) { return v + "%"; } } },
                           y: { ticks: { callback: fittedLabel(labels) } } },
                 plugins: { legend: { display: false }, tooltip: { callbacks: {
                   label: function (ctx) { return ctx.parsed.x.toFixed(2) + "% a year"; } } } } },
    });
    var young = data.summary.schemes.filter(function (s) { return s.xirr === null && s.absolute_return !== null; });
    document.getElementById("xirr-note").textContent = young.map(function (s) {
      return "† " + s.scheme_name + ": " + percent(s.absolute_return) + " plain return (held under a year)";
    }).join("\n");
  }

  function navLine(canvas, nav) {
    var labels = nav.navs.map(function (p) { return p[0]; });
    var index = {};
    labels.forEach(function (d, i) { index[d] = i; });
    var bought = labels.map(function () { return null; });
    nav.purchases.forEach(function (p) { if (index[p[0]] !== undefined) bought[index[p[0]]] = Number(p[1]); });
    var datasets = [
      { label: "NAV", data: nav.navs.map(function (p) { return Number(p[1]); }), borderColor: COLORS[0],
        pointRadius: 0, borderWidth: 1.5 },
      { label: "Your instalments", data: bought, showLine: false, pointRadius: 4,
        pointStyle: "crossRot", borderWidth: 2, borderColor: COLORS[1], backgroundColor: COLORS[1] },
    ];
    if (nav.average_cost !== null) {
      datasets.push({ label: "Your average cost", data: labels.map(function () { return Number(nav.average_cost); }),
                      borderColor: COLORS[6], borderDash: [3, 3], pointRadius: 0, borderWidth: 1 });
    }
    return chart(canvas, { type: "line", data: { labels: labels, datasets: datasets },
      options: { scales: { x: { ticks: { maxTicksLimit: 6 } } },
                 plugins: { legend: { labels: { boxWidth: 12 } } } } });
  }

  // Candles drawn as floating bars: a thin bar from low to high (the wick) behind a wide one
  // from open to close (the body), green when the period closed at or above its open.
  function navCandles(canvas, candles, title) {
    var up = candles.map(function (c) { return Number(c.close) >= Number(c.open); });
    var colour = up.map(function (u) { return u ? COLORS[2] : COLORS[4]; });
    return chart(canvas, {
      type: "bar",
      data: {
        labels: candles.map(function (c) { return c.start; }),
        datasets: [
          { label: "open → close", data: candles.map(function (c) { return [Number(c.open), Number(c.close)]; }),
            backgroundColor: colour, barPercentage: 0.8, minBarLength: 2, grouped: false, order: 1 },
          { label: "low – high", data: candles.map(function (c) { return [Number(c.low), Number(c.high)]; }),
            backgroundColor: colour, barPercentage: 0.12, grouped: false, order: 2 },
        ],
      },
      options: { scales: { x: { ticks: { maxTicksLimit: 8 } }, y: { beginAtZero: false } },
                 plugins: { legend: { display: false }, title: { display: true, text: title },
                            tooltip: { callbacks: { label: function (ctx) {
                              var c = candles[ctx.dataIndex];
                              return "O " + c.open + "  H " + c.high + "  L " + c.low + "  C " + c.close;
                            } } } } },
    });
  }

  function navCards(data) {
    var holder = document.getElementById("navs");
    holder.textContent = "";
    data.navs.forEach(function (nav) {
      var card = el("figure", { "class": "card", "data-scheme": String(nav.scheme_code) });
      card.appendChild(el("figcaption", null, nav.name));
      var toggle = el("div", { "class": "toggle", role: "group", "aria-label": "Period" });
      var box = el("div", { "class": "chart" });
      var canvas = el("canvas", { id: "chart-nav-" + nav.scheme_code, role: "img",
                                  "aria-label": "NAV of " + nav.name });
      box.appendChild(canvas);
      var current = null;
      function show(kind) {
        if (current) { current.destroy(); charts.splice(charts.indexOf(current), 1); }
        if (kind === "daily") current = navLine(canvas, nav);
        else current = navCandles(canvas, nav[kind], kind === "weekly" ? "Weekly candles (ISO weeks)" : "Monthly candles");
        Array.prototype.forEach.call(toggle.children, function (b) {
          b.setAttribute("aria-pressed", String(b.dataset.kind === kind));
        });
      }
      ["daily", "weekly", "monthly"].forEach(function (kind) {
        var button = el("button", { type: "button", "data-kind": kind }, kind);
        button.addEventListener("click", function () { show(kind); });
        toggle.appendChild(button);
      });
      card.appendChild(toggle);
      card.appendChild(box);
      holder.appendChild(card);
      show("daily");
    });
  }

  // --- figures, warnings, table ---------------------------------------------------------

  function headline(data) {
    var t = data.summary.total, holder = document.getElementById("headline");
    holder.textContent = "";
    var ret = t.xirr !== null ? ["XIRR", percent(t.xirr)] : ["Return †", percent(t.absolute_return)];
    [["Invested", rupees(t.invested)], ["Value", rupees(t.value)], ["Gain", rupees(t.gain)], ret]
      .forEach(function (pair) {
        var box = el("div", { "class": "figure" });
        box.appendChild(el("div", { "class": "label" }, pair[0]));
        box.appendChild(el("div", { "class": "amount", "data-total": pair[0] }, pair[1]));
        holder.appendChild(box);
      });
  }

  function warnings(data) {
    var holder = document.getElementById("warnings");
    holder.textContent = "";
    if (!data.summary.warnings.length) return;
    var list = el("ul");
    data.summary.warnings.forEach(function (w) { list.appendChild(el("li", null, w)); });
    holder.appendChild(list);
  }

  var COLUMNS = [
    ["scheme_name", "Scheme"], ["instalments", "Instalments"], ["invested", "Invested"],
    ["units", "Units"], ["nav", "NAV"], ["value", "Value"], ["gain", "Gain"], ["return", "XIRR / return"],
  ];

  function cell(row, field, isTotal) {
    var td = el("td", { "data-field": field });
    var raw = row[field];
    if (field === "return") {
      td.textContent = row.xirr !== null ? percent(row.xirr) : percent(row.absolute_return) + (row.absolute_return !== null ? " †" : "");
      td.setAttribute("data-value", String(row.xirr !== null ? row.xirr : row.absolute_return));
      return td;
    }
    if (raw !== undefined && raw !== null) td.setAttribute("data-value", String(raw));
    if (field === "invested" || field === "value" || field === "gain") {
      td.textContent = rupees(raw);
      if (field === "gain" && raw !== null) td.className = raw.charAt(0) === "-" ? "gain-neg" : "gain-pos";
    } else if (field === "nav") {
      td.textContent = raw === null ? "—" : raw;
      if (row.nav_date) td.appendChild(el("div", { "class": "note" }, row.nav_date + (row.stale ? " (stale)" : "")));
    } else if (field === "instalments") {
      td.textContent = String(raw);
      if (row.pending) td.appendChild(el("div", { "class": "flag" }, row.pending + " pending"));
    } else if (field === "scheme_name") {
      td.textContent = isTotal ? "Total" : raw;
      if (!isTotal) td.appendChild(el("div", { "class": "note" }, "AMFI " + row.scheme_code));
    } else {
      td.textContent = raw === undefined || raw === null ? "" : String(raw);
    }
    return td;
  }

  function table(data) {
    var tableEl = document.getElementById("summary-table");
    tableEl.textContent = "";
    var head = el("thead"), tr = el("tr");
    COLUMNS.forEach(function (c) { tr.appendChild(el("th", { scope: "col" }, c[1])); });
    head.appendChild(tr);
    tableEl.appendChild(head);
    var body = el("tbody");
    data.summary.schemes.forEach(function (s) {
      var row = el("tr", { "data-scheme": String(s.scheme_code) });
      COLUMNS.forEach(function (c) { row.appendChild(cell(s, c[0], false)); });
      body.appendChild(row);
    });
    tableEl.appendChild(body);
    var foot = el("tfoot"), total = el("tr", { "data-scheme": "total" });
    COLUMNS.forEach(function (c) {
      total.appendChild(c[0] === "units" || c[0] === "nav" ? el("td") : cell(data.summary.total, c[0], true));
    });
    foot.appendChild(total);
    tableEl.appendChild(foot);
  }

  function render(data) {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    document.getElementById("as-of").textContent = "portfolio as of " + data.as_of;
    headline(data);
    warnings(data);
    table(data);
    if (data.summary.schemes.length) {
      valueChart(data);
      allocationChart("chart-alloc-scheme", data.allocation.scheme, shortName);
      allocationChart("chart-alloc-category", data.allocation.category, categoryName);
      allocationChart("chart-alloc-fund-house", data.allocation.fund_house, String);
      xirrChart(data);
    }
    navCards(data);
    renders += 1;
    document.documentElement.setAttribute("data-renders", String(renders));
  }

  // --- live mode: data from the API, news from /events, the add-SIP form -----------------

  function asOfQuery() {
    var asOf = new URLSearchParams(window.location.search).get("as_of");
    return asOf ? "?as_of=" + encodeURIComponent(asOf) : "";
  }

  function setStatus(text, kind) {
    var s = document.getElementById("status");
    s.textContent = text;
    s.className = "status " + (kind || "");
  }

  function load() {
    return fetch("/dashboard-data" + asOfQuery(), { credentials: "same-origin" })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error(body.detail + (body.hint ? "\nHint: " + body.hint : ""));
          return body;
        });
      })
      .then(render)
      .catch(function (e) { setStatus("Error: " + e.message, "down"); });
  }

  // One fetch at a time: changes that arrive while one is running fold into one more fetch.
  var loading = false, again = false;
  function refresh() {
    if (loading) { again = true; return; }
    loading = true;
    load().then(function () {
      loading = false;
      if (again) { again = false; refresh(); }
    });
  }

  function listen() {
    var events = new EventSource("/events");
    events.addEventListener("open", function () { setStatus("live", "live"); });
    events.addEventListener("error", function () { setStatus("reconnecting…", "down"); });
    events.addEventListener("change", refresh);
  }

  function formToJson(form) {
    var body = {};
    new FormData(form).forEach(function (value, key) {
      if (String(value).trim() !== "") body[key] = key === "day" ? Number(value) : String(value);
    });
    return body;
  }

  function setUpForm() {
    document.getElementById("add-sip-section").hidden = false;
    var form = document.getElementById("add-sip"), result = document.getElementById("add-sip-result");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      result.className = "";
      result.textContent = "Adding…";
      fetch("/sips/", { method: "POST", credentials: "same-origin",
                        headers: { "Content-Type": "application/json" },
                        body: JSON.stringify(formToJson(form)) })
        .then(function (r) { return r.json().then(function (body) { return [r, body]; }); })
        .then(function (pair) {
          var r = pair[0], body = pair[1];
          if (!r.ok) {
            var detail = typeof body.detail === "string" ? body.detail
              : body.detail.map(function (d) { return d.loc.slice(-1)[0] + ": " + d.msg; }).join("; ");
            var text = "Error: " + detail + (body.hint ? "\nHint: " + body.hint : "");
            if (body.candidates) text += "\n" + body.candidates.join("\n");
            result.className = "error";
            result.textContent = text;
            return;
          }
          result.className = "ok";
          result.textContent = "Added SIP " + body.id.slice(0, 8) + " (scheme " + body.scheme_code + ")." +
            body.warnings.map(function (w) { return "\nWarning: " + w; }).join("");
          form.reset();
        })
        .catch(function (e) { result.className = "error"; result.textContent = "Error: " + e.message; });
    });
  }

  if (LIVE) {
    setUpForm();
    listen();  // first, so a change made while the page loads is not missed
    refresh();
  } else {
    setStatus("read-only report written " + config.written_on, "");
    document.getElementById("footer").textContent =
      "Written by `mftrack report --html` on " + config.written_on + ". Read-only; the same numbers as `mftrack summary --as-of " +
      JSON.parse(document.getElementById("mftrack-data").textContent).as_of + "`.";
    render(JSON.parse(document.getElementById("mftrack-data").textContent));
  }
})();
