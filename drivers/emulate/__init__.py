"""Board emulators: a TI demo behind pseudo-terminals, a DCA1000 on loopback UDP.

Both run real protocols against the real driver code, inject faults on request, and talk to
127.0.0.1 only. Every loop is bounded and stops by itself.
"""

from .dca import DcaEmulator, DcaFaults, apply_faults, packetize
from .tiboard import TiBoardEmulator, UartFaults, packets_from_arrays, synthetic_points

__all__ = [
    "DcaEmulator",
    "DcaFaults",
    "TiBoardEmulator",
    "UartFaults",
    "apply_faults",
    "packetize",
    "packets_from_arrays",
    "synthetic_points",
]
