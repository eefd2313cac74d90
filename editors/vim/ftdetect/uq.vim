" uq model files
autocmd BufRead,BufNewFile *.uq setfiletype uq
