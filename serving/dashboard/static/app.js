// GOV.UK Frontend and MOJ Frontend components (conditional radios, error summary, sortable tables).
import { initAll as govuk } from './govuk-frontend.min.js'
import { initAll as moj } from './moj-frontend.min.js'

document.body.classList.add('govuk-frontend-supported')
govuk()
moj()
