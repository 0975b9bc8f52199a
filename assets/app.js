/*
 * Live comparison on the index page: time the sync and the async page
 * from the browser and draw both as bars (SVG, no library).
 */
"use strict";

(function () {
	var form = document.getElementById("compare");
	var chart = document.getElementById("chart");
	var status = document.getElementById("status");
	var SVG = "http://www.w3.org/2000/svg";

	function timeOne(path) {
		var t0 = performance.now();
		return fetch(path, { cache: "no-store" }).then(function (r) {
			return r.text().then(function (body) {
				return { ms: performance.now() - t0, ok: r.ok,
				    status: r.status, body: body };
			});
		});
	}

	function el(name, attrs, text) {
		var e = document.createElementNS(SVG, name);
		Object.keys(attrs).forEach(function (k) {
			e.setAttribute(k, attrs[k]);
		});
		if (text !== undefined)
			e.textContent = text;
		return e;
	}

	function draw(rows, ideal) {
		var width = 640, left = 70, right = 90, bar = 32, gap = 16;
		var max = Math.max(ideal, rows[0].ms, rows[1].ms) || 1;
		var scale = (width - left - right) / max;

		while (chart.firstChild)
			chart.removeChild(chart.firstChild);
		rows.forEach(function (row, i) {
			var y = 10 + i * (bar + gap);
			var w = Math.max(1, row.ms * scale);
			chart.appendChild(el("text", { x: 0, y: y + bar * 0.65,
			    class: "label" }, row.name));
			chart.appendChild(el("rect", { x: left, y: y, width: w,
			    height: bar, class: "bar " + row.name }));
			chart.appendChild(el("text", { x: left + w + 6,
			    y: y + bar * 0.65, class: "value" },
			    row.ms.toFixed(0) + " ms"));
		});
		if (ideal > 0) {
			var x = left + ideal * scale;
			chart.appendChild(el("line", { x1: x, x2: x, y1: 0,
			    y2: 2 * (bar + gap), class: "ideal" }));
		}
	}

	function run(ev) {
		var calls = document.getElementById("calls").value;
		var delay = document.getElementById("delay").value;
		var q = "?calls=" + encodeURIComponent(calls) +
		    "&delay=" + encodeURIComponent(delay);
		var rows = [];

		ev.preventDefault();
		status.textContent = "timing /get_data" + q + " ...";
		timeOne("/get_data" + q).then(function (sync) {
			if (!sync.ok)
				throw new Error("sync: " + sync.status + " " +
				    sync.body);
			rows.push({ name: "sync", ms: sync.ms });
			status.textContent = "timing /async_get_data" + q +
			    " ...";
			return timeOne("/async_get_data" + q);
		}).then(function (async) {
			if (!async.ok)
				throw new Error("async: " + async.status + " " +
				    async.body);
			rows.push({ name: "async", ms: async.ms });
			draw(rows, Number(calls) > 0 ? Number(delay) : 0);
			status.textContent = "sync " + rows[0].ms.toFixed(0) +
			    " ms, async " + rows[1].ms.toFixed(0) + " ms (" +
			    (rows[0].ms / rows[1].ms).toFixed(1) +
			    "x faster)";
		}).catch(function (err) {
			status.textContent = err.message;
		});
	}

	form.addEventListener("submit", run);
	/* /#run starts a comparison on load: a link that shows the result. */
	if (window.location.hash === "#run")
		run({ preventDefault: function () {} });
})();
