package typemap

import (
	"fmt"
	"math/big"
)

// DecimalFixedLen is the smallest number of bytes whose signed two's
// complement range holds every unscaled value of the given precision: the
// width RDS uses for FIXED_LEN_BYTE_ARRAY decimals (9 for DECIMAL(20,0)).
func DecimalFixedLen(precision int) int {
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(precision)), nil) // 10^p
	for n := 1; ; n++ {
		// signed range of n bytes is [-2^(8n-1), 2^(8n-1)-1]
		max := new(big.Int).Lsh(big.NewInt(1), uint(8*n-1))
		if max.Cmp(limit) >= 0 {
			return n
		}
	}
}

// UnscaledDecimal parses the decimal text a database prints ("-12.340",
// "7", "1e3" is not accepted) into its unscaled integer at the given scale:
// "12.34" at scale 3 is 12340. Digits beyond the scale are an error rather
// than a silent rounding, because the column's declared scale guarantees
// there are none.
func UnscaledDecimal(text []byte, scale int) (*big.Int, error) {
	var digits []byte
	neg := false
	frac := -1
	for i, c := range text {
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
			if frac >= 0 {
				frac++
			}
		case c == '.' && frac < 0:
			frac = 0
		case (c == '-' || c == '+') && i == 0:
			neg = c == '-'
		default:
			return nil, fmt.Errorf("typemap: %q is not a decimal number", text)
		}
	}
	if len(digits) == 0 {
		return nil, fmt.Errorf("typemap: %q is not a decimal number", text)
	}
	if frac < 0 {
		frac = 0
	}
	if frac > scale {
		// Trailing zeros beyond the scale are harmless; anything else is not.
		for _, c := range digits[len(digits)-(frac-scale):] {
			if c != '0' {
				return nil, fmt.Errorf("typemap: %q has more than %d decimal places", text, scale)
			}
		}
		digits = digits[:len(digits)-(frac-scale)]
		frac = scale
	}
	for ; frac < scale; frac++ {
		digits = append(digits, '0')
	}
	v, ok := new(big.Int).SetString(string(digits), 10)
	if !ok {
		return nil, fmt.Errorf("typemap: %q is not a decimal number", text)
	}
	if neg {
		v.Neg(v)
	}
	return v, nil
}

// AppendFixedDecimal appends v as an n-byte big-endian two's complement
// integer, the FIXED_LEN_BYTE_ARRAY encoding of a Parquet DECIMAL.
func AppendFixedDecimal(dst []byte, v *big.Int, n int) ([]byte, error) {
	if v.BitLen() > 8*n-1 {
		return dst, fmt.Errorf("typemap: decimal %s does not fit in %d bytes", v, n)
	}
	start := len(dst)
	for i := 0; i < n; i++ {
		dst = append(dst, 0)
	}
	buf := dst[start:]
	if v.Sign() >= 0 {
		v.FillBytes(buf)
		return dst, nil
	}
	// two's complement of a negative number: 2^(8n) + v
	m := new(big.Int).Lsh(big.NewInt(1), uint(8*n))
	m.Add(m, v)
	m.FillBytes(buf)
	return dst, nil
}
