// Client script, part 3a: the actions on jobs — requeue, cancel, set done (each offered only for
// the states it acts on: ACTION_FROM, the server's rule, written into the script) and remove,
// which asks to confirm first — and how their outcome is shown, refusals listed by uuid.

import { ACTION_FROM } from '../action-states.js'

export const ACTIONS_JS = `var ACTION_FROM = ${JSON.stringify(ACTION_FROM)}\n` + String.raw`
var ACTIONS = [['requeue', 'Requeue', 'Requeued'], ['cancel', 'Cancel', 'Cancelled'], ['done', 'Set done', 'Marked done']]

/** POST an action for uuids; out shows how many were applied and each refusal by uuid (a job the
 * action does not apply to is one: the server leaves it as it is and says its state). applied,
 * when given, is called with the uuids that were acted on. */
async function act(kind, uuids, out, applied) {
  var action = ACTIONS.filter(function (a) { return a[0] === kind })[0]
  out.replaceChildren(h('p', null, action[1] + '…'))
  try {
    var body = await api('actions/' + kind, { uuids: uuids }, [409])
    var refused = body.results.filter(function (r) { return !r.ok })
    var acted = body.results.filter(function (r) { return r.ok }).map(function (r) { return r.uuid })
    if (applied) applied(acted)
    // replaceChildren would write a null child as the text "null": append skips it.
    out.replaceChildren()
    append(out, [
      h('p', null, action[2] + ' ' + plural(acted.length, 'job') + (refused.length ? '; ' + refused.length + ' refused:' : '.')),
      refused.length === 0 ? null : h('ul', { class: 'refusals' }, refused.map(function (r) {
        return h('li', null, jobLink(r.uuid), ': ', r.error ? r.error.message : 'refused')
      })),
    ])
  } catch (error) {
    out.replaceChildren(h('p', { class: 'error' }, error.message))
  }
  refreshView()
}

/** Remove deletes for good: the selection is only removed once the operator confirms it here.
 * The server refuses the whole call if one job is not done, cancelled or failed. */
function confirmRemove(uuids, out, removed) {
  out.replaceChildren(h('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm removal' },
    h('p', null, 'Remove ' + plural(uuids.length, 'job') + ' for good? Only done, cancelled and failed jobs can be removed; this cannot be undone.'),
    h('button', { type: 'button', 'data-key': 'confirm-remove', onclick: function () { removeJobs(uuids, out, removed) } }, 'Confirm remove'),
    h('button', { type: 'button', 'data-key': 'keep', onclick: function () { out.replaceChildren() } }, 'Keep them')))
}

async function removeJobs(uuids, out, removed) {
  out.replaceChildren(h('p', null, 'Removing…'))
  try {
    var body = await api('actions/remove', { uuids: uuids }, [409])
    if (!body.error && removed) removed(uuids)
    out.replaceChildren(body.error
      ? h('p', { class: 'error' }, 'Removed nothing: ' + body.error.message)
      : h('p', null, 'Removed ' + plural(body.removed, 'job') + '.'))
  } catch (error) {
    out.replaceChildren(h('p', { class: 'error' }, error.message))
  }
  refreshView()
}

/** Whether action kind acts on a job in state (ACTION_FROM, the server's rule): a button is
 * offered only where it would change the job. */
function actsOn(kind, state) {
  return ACTION_FROM[kind].indexOf(state) >= 0
}

/** state: a job page's job (the Jobs view's buttons are turned on and off by setOffered).
 * aria-disabled, not disabled: a button pressed keeps the focus. */
function actionButtons(onAct, state) {
  return ACTIONS.map(function (a) {
    var button = h('button', { type: 'button', 'data-action': a[0], 'data-key': 'act:' + a[0],
      onclick: function () { if (button.getAttribute('aria-disabled') !== 'true') onAct(a[0]) } }, a[1])
    if (state) setOffered(button, actsOn(a[0], state), 'Not for a ' + state.replace('_', ' ') + ' job')
    return button
  })
}

function setOffered(button, offered, why) {
  if (offered) {
    button.removeAttribute('aria-disabled')
    button.removeAttribute('title')
  } else {
    button.setAttribute('aria-disabled', 'true')
    button.setAttribute('title', why)
  }
}
`
