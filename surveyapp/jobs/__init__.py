"""Job backends. Each is the only module importing its queue library; both hand a job id to
surveyapp.operations.jobs.run_job, which does the work and keeps the jobs row current."""
