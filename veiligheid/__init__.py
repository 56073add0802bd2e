"""Query, analysis and warehouse layer of Dashboards Veiligheid.

Plain Python, no Streamlit: the pipelines and the pages both build on it.
"""
