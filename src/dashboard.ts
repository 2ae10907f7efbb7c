// Entry point 'wharf-queue/dashboard': re-exports only.
export { dashboard, type DashboardHandler, type DashboardOptions } from './dashboard/handler.js'
export { serveDashboard, DEFAULT_HOST, DEFAULT_PORT, type DashboardServer, type ServeOptions } from './dashboard/serve.js'
export { HttpError, type ErrorBody } from './dashboard/http-error.js'
export { BODY_BYTES_MAX } from './dashboard/body.js'
export { ACTION_UUIDS_MAX, type ActionResult } from './dashboard/actions.js'
export { API_JOBS_LIMIT_DEFAULT, API_JOBS_LIMIT_MAX } from './dashboard/query.js'
export type { JobsPage, JobDetail } from './dashboard/api-reads.js'
export type { ChannelRow } from './dashboard/channel-tree.js'
