"""Data health: is each event feed arriving as usual, so that a stopped feed is not read as churn?"""
