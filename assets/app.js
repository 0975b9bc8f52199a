/*
 * Live comparison on the index page: time the sync and the async page
 * from the browser and draw both as bars (SVG, no library) on an axis in
 * ms, with the ideal (the slowest single call) as a labelled dashed line.
 * The chart is drawn at the width it has on screen (a phone's too), and
 * again when that changes.  A run starts from the form, from /#run on
 * load, and from the page's own /#run link (hashchange, or a click when
 * the hash is #run already).  While it runs the button is busy.
 */
"use strict";

(function () {
	var form = document.getElementById("compare");
	var button = document.getElementById("go");
	var chart = document.getElementById("chart");
	var status = document.getElementById("status");
	var SVG = "http://www.w3.org/2000/svg";
	var LEFT = 52, RIGHT = 72, TOP = 22, BAR = 28, GAP = 12;
	var idleText = button.textContent;
	var running = false;
	var last = null;

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

	/*
	 * A round tick step, at most n steps in max: 1, 2 or 5 x 10^k ms (and
	 * 25, 250, ...), at least 1 ms, so every tick is a whole number of ms.
	 */
	function tickStep(max, n) {
		var raw = max / Math.max(1, n);
		var p = Math.pow(10, Math.floor(Math.log10(raw)));
		var steps = p >= 10 ? [1, 2, 2.5, 5, 10] : [1, 2, 5, 10];
		var i;

		for (i = 0; i < steps.length - 1; i++) {
			if (raw / p <= steps[i])
				break;
		}
		return (Math.max(1, steps[i] * p));
	}

	/* The axis spans 0 .. max; ticks at round values up to max. */
	function drawAxis(y, plot, step, scale, max) {
		var g = el("g", { class: "axis" });
		var v, x;

		g.appendChild(el("line", { x1: LEFT, x2: LEFT + plot, y1: y,
		    y2: y }));
		for (v = 0; v <= max * 1.0001; v += step) {
			x = LEFT + v * scale;
			g.appendChild(el("line", { x1: x, x2: x, y1: y,
			    y2: y + 4 }));
			g.appendChild(el("text", { x: x, y: y + 17,
			    "text-anchor": "middle", class: "tick" },
			    Math.round(v) + " ms"));
		}
		chart.appendChild(g);
	}

	function drawIdeal(ideal, scale, y, width) {
		var x = LEFT + ideal * scale;

		chart.appendChild(el("line", { x1: x, x2: x, y1: TOP - 6,
		    y2: y, class: "ideal" }));
		chart.appendChild(el("text", { x: x, y: TOP - 9,
		    "text-anchor": x + 45 > width ? "end" : "middle",
		    class: "ideal-label" }, "ideal " + ideal + " ms"));
	}

	/* A bar's value after its end, or inside it if it would not fit. */
	function value(end, y, width, text) {
		var t = el("text", { x: end + 6, y: y, class: "value" }, text);

		chart.appendChild(t);
		if (end + 6 + t.getComputedTextLength() > width) {
			t.setAttribute("x", end - 6);
			t.setAttribute("text-anchor", "end");
			t.setAttribute("class", "value inside");
		}
	}

	function draw(rows, ideal) {
		var width = Math.max(240, Math.floor(
		    chart.getBoundingClientRect().width || 640));
		var plot = width - LEFT - RIGHT;
		var axisY = TOP + rows.length * (BAR + GAP);
		var height = axisY + 26;
		var max = Math.max(ideal, rows[0].ms, rows[1].ms) || 1;
		var step = tickStep(max, Math.floor(plot / 70));
		var scale = plot / max;

		while (chart.firstChild)
			chart.removeChild(chart.firstChild);
		chart.setAttribute("viewBox", "0 0 " + width + " " + height);
		chart.setAttribute("width", width);
		chart.setAttribute("height", height);
		rows.forEach(function (row, i) {
			var y = TOP + i * (BAR + GAP);
			var w = Math.max(1, row.ms * scale);
			chart.appendChild(el("text", { x: 0, y: y + BAR * 0.65,
			    class: "label" }, row.name));
			chart.appendChild(el("rect", { x: LEFT, y: y, width: w,
			    height: BAR, class: "bar " + row.name }));
			value(LEFT + w, y + BAR * 0.65, width,
			    row.ms.toFixed(0) + " ms");
		});
		drawAxis(axisY, plot, step, scale, max);
		if (ideal > 0)
			drawIdeal(ideal, scale, axisY, width);
	}

	function busy(on) {
		running = on;
		button.disabled = on;
		button.setAttribute("aria-busy", on ? "true" : "false");
		button.textContent = on ? "Running: timing both pages\u2026" :
		    idleText;
	}

	function check(name, r) {
		if (!r.ok)
			throw new Error(name + ": " + r.status + " " + r.body);
		return { name: name, ms: r.ms };
	}

	function run() {
		var calls = document.getElementById("calls").value;
		var delay = document.getElementById("delay").value;
		var q = "?calls=" + encodeURIComponent(calls) +
		    "&delay=" + encodeURIComponent(delay);
		var rows = [];

		if (running)
			return;
		busy(true);
		status.textContent = "timing /get_data" + q + " ...";
		timeOne("/get_data" + q).then(function (sync) {
			rows.push(check("sync", sync));
			status.textContent = "timing /async_get_data" + q +
			    " ...";
			return timeOne("/async_get_data" + q);
		}).then(function (async) {
			rows.push(check("async", async));
			last = { rows: rows,
			    ideal: Number(calls) > 0 ? Number(delay) : 0 };
			draw(last.rows, last.ideal);
			status.textContent = "sync " + rows[0].ms.toFixed(0) +
			    " ms, async " + rows[1].ms.toFixed(0) + " ms (" +
			    (rows[0].ms / rows[1].ms).toFixed(1) +
			    "x faster)";
		}).catch(function (err) {
			status.textContent = err.message;
		}).then(function () {
			busy(false);
		});
	}

	form.addEventListener("submit", function (ev) {
		ev.preventDefault();
		run();
	});
	window.addEventListener("hashchange", function () {
		if (window.location.hash === "#run")
			run();
	});
	/* Following /#run from /#run changes no hash: run on the click. */
	document.addEventListener("click", function (ev) {
		var a = ev.target.closest ? ev.target.closest("a") : null;

		if (a !== null && a.getAttribute("href") === "/#run" &&
		    window.location.hash === "#run") {
			ev.preventDefault();
			run();
		}
	});
	window.addEventListener("resize", function () {
		if (last !== null)
			draw(last.rows, last.ideal);
	});
	/* /#run starts a comparison on load: a link that shows the result. */
	if (window.location.hash === "#run")
		run();
})();
