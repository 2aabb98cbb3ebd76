"""Linli rewards service: catalogue, redemption sagas and vouchers (R1-R4)."""
