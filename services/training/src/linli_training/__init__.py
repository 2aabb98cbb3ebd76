"""Linli training service: courses, teachers, sessions, credits, levels, assessments (T1-T4)."""
