/*
 * xkcd gallery: mark each comic image loaded or broken, so a broken one
 * shows its card's title instead of an empty frame (and tests can tell).
 */
"use strict";

(function () {
	var imgs = document.querySelectorAll(".comic img");

	function mark(img, state) {
		img.setAttribute("data-state", state);
		if (state === "broken")
			img.closest(".comic").classList.add("broken");
	}

	Array.prototype.forEach.call(imgs, function (img) {
		if (img.complete && img.naturalWidth > 0)
			mark(img, "loaded");
		else if (img.complete)
			mark(img, "broken");
		img.addEventListener("load", function () { mark(img, "loaded"); });
		img.addEventListener("error", function () { mark(img, "broken"); });
	});
})();
