document.getElementById('search').addEventListener('input', function (e) {
  var q = e.target.value.trim().toLowerCase(), shown = 0;
  document.querySelectorAll('details.cluster').forEach(function (d) {
    var hit = !q || d.dataset.search.indexOf(q) >= 0;
    d.style.display = hit ? '' : 'none';
    if (hit) shown += 1;
  });
  document.getElementById('shown').textContent = shown;
});
