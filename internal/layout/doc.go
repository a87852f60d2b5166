// Package layout names every object of an export task: RDS's key layout
// (reference §6), the metadata and protocol files beside it, and RDS's
// rule for sanitising names into paths.
//
//	[prefix/]<id>/<database>/<schema>.<table>/<batch>/part-<part:05d>-<uuid>.<ext>
//	[prefix/]<id>/export_info_<id>.json
//	[prefix/]<id>/export_tables_info_<id>_from_<n>_to_<m>.json
//	[prefix/]<id>/cancel_request_<id>.json
//	[prefix/]<id>/lease_<id>_<generation>.json
//	[prefix/]<id>/journal_<id>_<generation>.json
package layout
