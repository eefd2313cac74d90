//! Checking: names, imports, types and shapes → a typed model lowered to the operator graph.
