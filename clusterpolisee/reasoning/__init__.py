"""Reasoning: OWL consistency with HermiT (owlready2) and, later, materialised inferences."""
