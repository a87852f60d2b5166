CREATE TABLE every_type (
  id int PRIMARY KEY, d52 decimal(5,2), d38 decimal(38,10), dt datetime(6), ts timestamp(6) NULL, da date, tm time(6), y year,
  ubig bigint unsigned, uint int unsigned, usmall smallint unsigned, bit5 bit(5), j json, e enum('a','b','c'), s set('x','y','z'),
  vc varchar(20), bl blob, f float, dbl double);
INSERT INTO every_type VALUES
 (1, 123.45, 1234567890123456789012345678.0123456789, '2024-02-29 23:59:59.999999', '2024-02-29 23:59:59.999999', '2024-02-29', '838:59:59', 2024,
  18446744073709551615, 4294967295, 65535, b'10101', '{"a": [1, 2]}', 'b', 'x,z', 'café', x'00ff', 1.5, -2.25e300),
 (2, -999.99, -0.0000000001, '1000-01-01 00:00:00', '1970-01-01 00:00:01', '1000-01-01', '-838:59:59', 1901, 0, 0, 0, b'0', '[]', 'a', '', '', '', 0, 0),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
