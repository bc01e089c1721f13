// GOV.UK Frontend and MOJ Frontend components (error summary, tabs, sortable tables, service navigation), and
// conditional reveals.
import { initAll as govuk } from './govuk-frontend.min.js'
import { initAll as moj } from './moj-frontend.min.js'

// Conditional reveals in GOV.UK Frontend's markup and styles (govuk-radios__conditional). GOV.UK's own script
// marks each revealing radio aria-expanded, an attribute radios may not carry (axe-core: aria-allowed-attr),
// so this one links the radio to what it reveals with aria-controls only. Without JavaScript nothing is
// hidden, and the server asks for whatever the chosen answer needs.
function conditionalReveals (root) {
  const inputs = [...root.querySelectorAll('input[type="radio"][data-app-reveals]')]
  const sync = () => inputs.forEach(input => {
    const target = document.getElementById(input.dataset.appReveals)
    if (target) target.classList.toggle('govuk-radios__conditional--hidden', !input.checked)
  })
  inputs.forEach(input => input.setAttribute('aria-controls', input.dataset.appReveals))
  root.querySelectorAll('input[type="radio"]').forEach(input => input.addEventListener('change', sync))
  sync()
}

document.body.classList.add('govuk-frontend-supported')
govuk()
moj()
document.querySelectorAll('[data-module="app-conditional-reveals"]').forEach(conditionalReveals)
