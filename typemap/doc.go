// Package typemap decides what each source column becomes in Parquet: a
// [Target] (physical type plus logical annotation) chosen by a [Mapper].
//
// # Profiles
//
// A profile is a Mapper; [Profile] returns one by name, with the task's
// [ProfileOptions]:
//
//   - "rds", the default ([RDS]): the type tables of the RDS export
//     reference exactly (§10.1 MySQL/MariaDB in mysql.go, §10.2 PostgreSQL
//     in postgres.go), plus snapexport's affinity table for SQLite
//     (sqlite.go). A file exported with it reads as the RDS export of the
//     same table would.
//   - "typed": lossless types, the table below.
//
// [WithOverrides] applies per-type and per-column overrides on top of
// either; it keeps the profile's name ([ProfileName]), which the exporter
// records in export_tables_info (schemaMetadata.typeProfile) and in every
// file's key-value metadata (snapexport.type_profile), beside each column's
// decision (originalTypeMappings[].expectedExportedType and
// snapexport.columns, e.g. "int64 (TIMESTAMP(MICROS,false))"). An override
// a column's type cannot hold at all (text as int32) is refused before any
// data is read, naming the column and what would fit.
//
// PostgreSQL types are decided by pg_type OID and typtype ([PGType], filled
// by pgsource), never by printed name: a domain called bigserial, or a
// shadow.int4 ahead of pg_catalog in the search_path, is a DOMAIN (STRING in
// the rds profile, its base type in the typed one).
//
// # The typed profile
//
// Every column stays OPTIONAL. "Strict" targets fail the task on a value
// they cannot hold, naming table, column and row key; nothing is rounded or
// silently changed. [ProfileOptions.TimestampUnit] Millis turns every
// TIMESTAMP(MICROS) of the task (both profiles) into TIMESTAMP(MILLIS),
// rounding down.
//
// PostgreSQL:
//
//	source type                     Parquet                                       notes
//	smallint                        INT32 INT(16,true)                            as RDS
//	integer, bigint                 INT32, INT64                                  as RDS
//	real, double precision          FLOAT, DOUBLE                                 as RDS; NaN and ±Infinity kept
//	boolean                         BOOLEAN                                       as RDS
//	numeric(p,s), p ≤ 38            DECIMAL(p,s) on INT32 (p ≤ 9), INT64          NaN, ±Infinity: NULL, counted per
//	                                (p ≤ 18), FIXED_LEN_BYTE_ARRAY (p ≤ 38)       column in the warnings
//	numeric, numeric(p,s) p > 38    UnboundedNumeric policy: STRING (default,     decimal policy: a value with more
//	                                the exact text, NaN included) or              integer digits or decimal places
//	                                DECIMAL(P,S) of the policy                    than P,S holds fails the task
//	date                            INT32 DATE                                    every date fits, BC included
//	                                                                              (proleptic Gregorian, astronomical
//	                                                                              years); ±infinity: NULL, counted
//	timestamp                       INT64 TIMESTAMP(MICROS, isAdjustedToUTC=false) ±infinity: NULL, counted; beyond
//	timestamptz                     INT64 TIMESTAMP(MICROS, isAdjustedToUTC=true)  int64 µs (after 294247 AD): fails
//	time                            INT64 TIME(MICROS, isAdjustedToUTC=false)     24:00:00 is 86400000000
//	timetz, interval                BYTE_ARRAY STRING                             text form: no lossless Parquet type
//	uuid                            FIXED_LEN_BYTE_ARRAY(16) UUID
//	json, jsonb                     BYTE_ARRAY JSON                               json as stored, jsonb normalized
//	enum types                      BYTE_ARRAY ENUM                               the label (DuckDB reads VARCHAR,
//	                                                                              arrow-rs Binary of the UTF-8)
//	bytea                           BYTE_ARRAY                                    as RDS
//	text, varchar, char(n), name    BYTE_ARRAY STRING                             as RDS
//	domains                         their base type's row                         values of a domain are its base's;
//	                                                                              a domain over a domain over
//	                                                                              numeric(p,s) has no precision in
//	                                                                              the catalog: the unbounded policy
//	arrays of any type above        3-level LIST, element OPTIONAL               NULL elements kept; '{}' is an empty
//	                                (LIST of the element's row)                   list. A value with 2+ dimensions or
//	                                                                              a lower bound other than 1 fails
//	                                                                              the task (override to string)
//	arrays declared [][]...         BYTE_ARRAY STRING                             PostgreSQL does not enforce the
//	                                                                              dimensions; the text keeps them
//	arrays of other types           BYTE_ARRAY STRING
//	money, geometric, network,      BYTE_ARRAY STRING                             as RDS
//	bit, range, xml, tsvector,
//	composite, other types
//	object identifiers              left out                                      as RDS
//
// MySQL and MariaDB:
//
//	source type                     Parquet                                       notes
//	tinyint, smallint, mediumint,   INT32, INT64                                  as RDS
//	int, bigint
//	tinyint unsigned                INT32 INT(16,true)                            as RDS
//	smallint/mediumint unsigned     INT32                                         the next wider signed integer
//	int unsigned                    INT64
//	bigint unsigned                 FIXED_LEN_BYTE_ARRAY(9) DECIMAL(20,0)         as RDS
//	decimal(p,s), p ≤ 38            DECIMAL(p,s)                                  as RDS
//	decimal(p,s), p > 38            UnboundedNumeric policy                       as PostgreSQL's
//	float, double                   DOUBLE                                        as RDS (FLOAT read exactly)
//	bit(n), n ≤ 63                  INT64
//	bit(64)                         BYTE_ARRAY                                    as RDS
//	year                            INT32                                         as RDS
//	date                            INT32 DATE                                    zero dates: NULL, counted
//	datetime                        INT64 TIMESTAMP(MICROS, isAdjustedToUTC=false) zero dates: NULL, counted
//	timestamp                       INT64 TIMESTAMP(MICROS, isAdjustedToUTC=true)  read with time_zone '+00:00'
//	time                            BYTE_ARRAY STRING                             ±838 hours: not a time of day
//	json (MariaDB: longtext with    BYTE_ARRAY JSON                               invalid text fails the task
//	CHECK (json_valid(c)))
//	enum                            BYTE_ARRAY ENUM
//	set                             LIST of BYTE_ARRAY STRING                     '' is the empty list
//	char, varchar, text types       BYTE_ARRAY STRING                             (rds: CHAR without annotation)
//	binary, varbinary, blobs,       BYTE_ARRAY                                    as RDS
//	geometry types
//	inet4, inet6, uuid (MariaDB)    BYTE_ARRAY STRING                             as RDS
//
// SQLite: the rds profile's affinity table (sqlite.go) is already lossless:
// a column holds integers, reals, text or blobs whatever it declares, so
// only the declared affinity's kind (or STRING for NUMERIC affinity) holds
// every value. DATE and DATETIME columns stay STRING: telling whether every
// value parses as a date would take a second read of the table. Override
// them (timestamp_micros, date) when the application stores ISO-8601 text.
//
// # Values between source and writer
//
// A source driver produces, per column, values of the target's physical type
// ([Target.Physical]); a List travels as one BYTE_ARRAY of tagged elements
// ([AppendListElement], [DecodeList]) so that source.Rows keeps one value per
// column, and the writer turns it into the LIST's leaf values with their
// repetition and definition levels.
package typemap
