/*
 * Stats page: the server renders the table; DataTables makes it sortable,
 * searchable and paginated.  The table sits in a div of its own (DataTables'
 * dom option) that scrolls sideways on a narrow screen, under the controls.
 */
"use strict";

jQuery(function ($) {
	$("#stats").DataTable({
		dom: 'lfr<"scroll"t>ip',
		autoWidth: false,
		pageLength: 10,
		order: [[0, "asc"]],
		columnDefs: [{ targets: [1, 2, 3, 4, 5, 6], type: "num" }]
	});
});
