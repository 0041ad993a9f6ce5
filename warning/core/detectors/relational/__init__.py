"""Relational warning (关联预警): entity resolution on match tokens, the event graph, linked-risk alerts."""
