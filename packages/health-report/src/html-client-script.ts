/**
 * The report page's own script (plain ES2017, no imports): draws the trend with uPlot and the
 * heat map on a canvas from the embedded JSON, and makes the findings table sort and filter.
 * Kept as a string because it runs in the browser, not in Node. Characters beyond ASCII are
 * written as \u escapes inside its string literals, so that the CLI's bundles stay ASCII (read
 * without decoding UTF-8).
 */
export const CLIENT_SCRIPT = String.raw`(function(){
"use strict";
var dataEl=document.getElementById("report-data");
var data=dataEl?JSON.parse(dataEl.textContent||"{}"):{};
function dayTs(d){return Date.parse(d+"T00:00:00Z")/1000;}
// Steps, not a gradient: a 70 must look unlike a 95 at a glance. Same steps as the legend.
var STEPS=[[95,"#1a7f37"],[85,"#7cc36e"],[70,"#e3c13b"],[50,"#f08c2e"],[0,"#c62828"]];
function colorOf(s){if(s===null||s===undefined)return "#e4e7eb";for(var k=0;k<STEPS.length;k++){if(s>=STEPS[k][0])return STEPS[k][1];}return STEPS[STEPS.length-1][1];}
function drawTrend(){
  var el=document.getElementById("trend");
  if(!el||!data.days||data.days.length<2||typeof uPlot==="undefined")return;
  var xs=data.days.map(dayTs);
  var series=[{}, {label:"environment",stroke:"#0969da",width:2.5,points:{show:true}}];
  var cols=[xs,data.trend];
  var palette=["#c62828","#8250df","#b35900","#1a7f37"];
  (data.groups||[]).forEach(function(g,i){series.push({label:g.name,stroke:palette[i%palette.length],width:1.2,dash:[5,4]});cols.push(g.daily);});
  var w=Math.max(320,Math.min(el.clientWidth||900,1140));
  new uPlot({width:w,height:260,series:series,
    scales:{y:{range:[0,100]}},
    axes:[{},{label:"score",values:function(u,v){return v.map(function(x){return x+"";});}}]},cols,el);
}
function drawHeatmap(){
  var canvas=document.getElementById("heatmap");
  var heat=data.heat;
  if(!canvas||!heat||!heat.hosts.length||!data.days.length)return;
  var labelW=170,rowH=16,colMin=14,top=26;
  var wrap=canvas.parentElement;
  var avail=Math.max(400,Math.min((wrap&&wrap.clientWidth)||900,1140));
  var colW=Math.max(colMin,Math.floor((avail-labelW)/data.days.length));
  var cssW=labelW+colW*data.days.length, cssH=top+rowH*heat.hosts.length;
  var r=window.devicePixelRatio||1;
  canvas.width=Math.round(cssW*r);canvas.height=Math.round(cssH*r);
  canvas.style.width=cssW+"px";canvas.style.height=cssH+"px";
  var g=canvas.getContext("2d");g.scale(r,r);
  g.fillStyle="#fff";g.fillRect(0,0,cssW,cssH);
  g.font="11px system-ui,sans-serif";g.textBaseline="middle";
  var step=Math.ceil(40/colW);
  g.fillStyle="#59636e";
  for(var d=0;d<data.days.length;d+=step){g.fillText(data.days[d].slice(5),labelW+d*colW,12);}
  for(var i=0;i<heat.hosts.length;i++){
    var y=top+i*rowH;g.fillStyle="#1f2328";
    var name=heat.hosts[i];if(name.length>24)name=name.slice(0,23)+"\u2026";
    g.fillText(name,2,y+rowH/2);
    var row=heat.scores[i];
    for(var j=0;j<data.days.length;j++){g.fillStyle=colorOf(row[j]);g.fillRect(labelW+j*colW+1,y+1,colW-2,rowH-2);}
  }
  var tip=document.getElementById("heat-tip");
  canvas.addEventListener("mousemove",function(ev){
    var b=canvas.getBoundingClientRect(),x=ev.clientX-b.left,y=ev.clientY-b.top;
    var i=Math.floor((y-top)/rowH),j=Math.floor((x-labelW)/colW);
    if(i<0||j<0||i>=heat.hosts.length||j>=data.days.length){tip.style.display="none";return;}
    var s=heat.scores[i][j];
    tip.textContent=heat.hosts[i]+" \u00b7 "+data.days[j]+" \u00b7 "+(s===null?"no result":s);
    tip.style.left=(x+12)+"px";tip.style.top=(y+12)+"px";tip.style.display="block";
  });
  canvas.addEventListener("mouseleave",function(){tip.style.display="none";});
}
function cellKey(td){var v=td.getAttribute("data-v");if(v!==null&&v!==""&&!isNaN(+v))return +v;return (td.textContent||"").toLowerCase();}
function makeSortable(table){
  var heads=table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads,function(th,col){
    th.setAttribute("tabindex","0");
    var sort=function(){
      var dir=th.getAttribute("aria-sort")==="ascending"?-1:1;
      Array.prototype.forEach.call(heads,function(h){h.removeAttribute("aria-sort");});
      th.setAttribute("aria-sort",dir===1?"ascending":"descending");
      var body=table.tBodies[0];
      var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){var x=cellKey(a.cells[col]),y=cellKey(b.cells[col]);
        if(typeof x==="number"&&typeof y==="number")return (x-y)*dir;
        return String(x).localeCompare(String(y))*dir;});
      var frag=document.createDocumentFragment();rows.forEach(function(r){frag.appendChild(r);});body.appendChild(frag);
    };
    th.addEventListener("click",sort);
    th.addEventListener("keydown",function(e){if(e.key==="Enter"||e.key===" "){e.preventDefault();sort();}});
  });
}
function makeFilter(){
  var input=document.getElementById("findings-filter");var table=document.getElementById("findings");
  if(!input||!table)return;var count=document.getElementById("findings-count");
  var rows=Array.prototype.slice.call(table.tBodies[0].rows);
  input.addEventListener("input",function(){
    var q=input.value.trim().toLowerCase(),shown=0;
    rows.forEach(function(r){var hit=!q||(r.textContent||"").toLowerCase().indexOf(q)>=0;r.style.display=hit?"":"none";if(hit)shown++;});
    if(count)count.textContent=shown+" of "+rows.length+" shown";
  });
}
drawTrend();drawHeatmap();
Array.prototype.forEach.call(document.querySelectorAll("table.sortable"),makeSortable);
makeFilter();
})();`;
