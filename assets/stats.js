/*
 * Stats page: the server renders the table; DataTables makes it sortable,
 * searchable and paginated.
 */
"use strict";

jQuery(function ($) {
	$("#stats").DataTable({
		pageLength: 10,
		order: [[0, "asc"]],
		columnDefs: [{ targets: [1, 2, 3, 4, 5, 6], type: "num" }]
	});
});
