package telnyxsim

import (
	"fmt"
	"strconv"
)

// newUUID returns a version-4-shaped UUID from the seeded generator, so IDs
// repeat from run to run with the same seed. The caller holds s.mu.
func (s *Simulator) newUUID() string {
	hi, lo := s.idRNG.Uint64(), s.idRNG.Uint64()
	hi = hi&^0xF000 | 0x4000               // version 4
	lo = lo&^(0xC000<<48) | (0x8000 << 48) // RFC 4122 variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x",
		hi>>32, (hi>>16)&0xFFFF, hi&0xFFFF, lo>>48, lo&0xFFFFFFFFFFFF)
}

// phoneNumberIDBase makes owned-number IDs look like Telnyx's: decimal
// strings of 19 digits. The caller holds s.mu.
const phoneNumberIDBase = 1293384261075731000

func (s *Simulator) newPhoneNumberID() string {
	s.numberSeq++
	return strconv.FormatUint(phoneNumberIDBase+s.numberSeq, 10)
}
