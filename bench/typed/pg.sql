CREATE TYPE mood AS ENUM ('sad','ok','happy');
CREATE TABLE every_type (
  id int PRIMARY KEY, n52 numeric(5,2), n38 numeric(38,10), nfree numeric, d date, ts timestamp, tstz timestamptz,
  t time, ttz timetz, iv interval, u uuid, j json, jb jsonb, e mood, b bytea, ai int[], at text[], i2 smallint, i8 bigint,
  r real, f float8, bo boolean, m money, inet_c inet, x xml);
INSERT INTO every_type VALUES
 (1, 123.45, 1234567890123456789012345678.0123456789, 3.14159265358979323846264338327950288419716939937510, '2024-02-29', '2024-02-29 23:59:59.999999', '2024-02-29 23:59:59.999999+05:30',
  '23:59:59.999999', '12:00+02', '1 year 2 mons 3 days 04:05:06', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a":1}', '{"b": [1,2]}', 'happy', '\x00ff', '{1,NULL,3}', '{"x",NULL,""}', -32768, 9223372036854775807,
  1.5, -2.25e300, true, 12.34, '10.0.0.1/8', '<a/>'),
 (2, -999.99, -0.0000000001, 'NaN', '0044-03-15 BC', '1970-01-01 00:00:00', '1969-12-31 23:59:59+00', '00:00:00', '00:00+00', '-1 day', '00000000-0000-0000-0000-000000000000', 'null', '[]', 'sad', '', '{}', '{}', 0, -9223372036854775808,
  'NaN', 'Infinity', false, -1, '::1', '<b>x</b>'),
 (3, NULL, NULL, NULL, 'infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
